// Package uhitest makes UHI messages for tests: the console's, the hub's
// and the system tests', written once.
package uhitest

import (
	"testing"

	"teleconsole/uhiclient"
)

// ReadyBody is the JSON of a patient's READY from id, as a patient app
// posts it.
func ReadyBody(t testing.TB, id uhiclient.Identity) []byte {
	t.Helper()
	b, err := uhiclient.NewBuilder(id)
	if err != nil {
		t.Fatal(err)
	}
	env, err := b.Ready()
	if err != nil {
		t.Fatal(err)
	}
	body, err := uhiclient.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
