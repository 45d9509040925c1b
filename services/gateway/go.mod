module github.com/ghnotify/ghnotify/services/gateway

go 1.26.0
