// Package chaos holds the chaos suite (build tag chaos, run by
// `make test-chaos`): the real binaries under kill -9, a NATS restart,
// Slack rate limits and outages and a full disk, checking that every
// delivery answered 2xx is posted once or dead-lettered with a reason.
// See docs/architecture.md, "The chaos suite".
package chaos
