package main

import (
	"github.com/ghnotify/ghnotify/shared/history"
)

// The delivery views of `deliveries` and `trace` are gathered by package
// history, which the web console shares.
type (
	deliveryView   = history.View
	deliveryFilter = history.Filter
)

var (
	allStatuses      = history.Statuses
	gatherDelivery   = history.Gather
	gatherDeliveries = history.List
	summarize        = history.Summarize
)
