module github.com/ghnotify/ghnotify/services/slack-sink

go 1.26.0
