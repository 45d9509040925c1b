module github.com/ghnotify/ghnotify/services/normalizer

go 1.26.0
