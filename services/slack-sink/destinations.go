package sink

import (
	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/services/slack-sink/routes"
	"github.com/ghnotify/ghnotify/services/slack-sink/signedhttp"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/slackapi"
)

// DestinationTypes are the destination types of the routes file, by
// their key. A new type is an adapter package (parsing its fields and
// implementing deliver.Poster) and one line here.
func DestinationTypes(cfg Config) routes.Types {
	hc := slackapi.NewHTTPClient(cfg.HTTPTimeout)
	return routes.Types{
		"webhook": slack.Webhook{HTTP: hc},
		"channel": slack.Channel{HTTP: hc, APIURL: cfg.SlackAPIURL, DefaultToken: cfg.BotToken},
		"console": slack.Console{W: cfg.Console, Inbox: cfg.Inbox},
		"http":    signedhttp.Type{HTTP: hc},
	}
}

// HeaderDestination names the destination on a dead letter of the sink.
const HeaderDestination = deliver.HeaderDestination

// SentKey is the sent-bucket key of an event posted to a destination.
func SentKey(eventID, destination string) string { return deliver.SentKey(eventID, destination) }

// ThreadKey is the threads-bucket key of an issue or pull request's thread
// in a destination.
func ThreadKey(destination, repo string, number int) string {
	return deliver.ThreadKey(destination, repo, number)
}
