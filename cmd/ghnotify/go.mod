module github.com/ghnotify/ghnotify/cmd/ghnotify

go 1.26.0
