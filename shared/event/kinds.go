package event

// FixedVerbs gives the verb used in the kind of GitHub events whose payload
// carries no action field. An event that has no action and is not listed
// here gets DefaultVerb.
var FixedVerbs = map[string]string{
	"push":       "pushed",
	"create":     "created",
	"delete":     "deleted",
	"fork":       "created",
	"public":     "published",
	"status":     "updated",
	"gollum":     "updated",
	"ping":       "received",
	"page_build": "built",
	"watch":      "started", // watch always carries action "started"; kept for payloads without it.
	"deployment": "created",
	// Older deployment_status payloads carry no action; newer ones say "created".
	"deployment_status": "created",
	"meta":              "deleted",
	"team_add":          "added",
	"member":            "added",
	"repository":        "updated",
	"organization":      "updated",
	// repository_import reports the end of an import; its outcome is in the payload's status.
	"repository_import": "finished",
	"workflow_dispatch": "dispatched",
	// security_and_analysis reports features turned on or off; its payload has only changes.
	"security_and_analysis": "updated",
}

// DefaultVerb is the verb of an event without an action that FixedVerbs does not list.
const DefaultVerb = "received"

// Kind returns "<event>.<verb>" for a GitHub event name and its action. A
// pull request closed with merged=true is the derived kind
// "pull_request.merged"; other closed pull requests stay "pull_request.closed".
func Kind(eventName, action string, merged bool) string {
	if action == "" {
		verb, ok := FixedVerbs[eventName]
		if !ok {
			verb = DefaultVerb
		}
		return eventName + "." + verb
	}
	if eventName == "pull_request" && action == "closed" && merged {
		return "pull_request.merged"
	}
	return eventName + "." + action
}
