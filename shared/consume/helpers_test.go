package consume_test

import "github.com/nats-io/nats.go"

func jetstreamMsg(subj string) *nats.Msg {
	m := nats.NewMsg(subj)
	m.Data = []byte(`{}`)
	m.Header.Set("X-Test", "kept")
	m.Header.Set("Nats-Msg-Id", "id-"+subj)
	return m
}
