package event

// Headers and content type of a canonical event message on the events
// stream. The body is the structured-mode CloudEvents JSON of the event; the
// headers let consumers filter and trace without decoding it.
const (
	// HeaderKind carries the event's kind, such as "pull_request.merged".
	HeaderKind = "Ghnotify-Kind"
	// MessageContentType is the Content-Type header of an event message.
	MessageContentType = "application/cloudevents+json"
)
