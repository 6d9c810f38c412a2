package uhiclient_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"teleconsole/uhiclient"
)

// A doctor's console sends an OFFER to a patient whose endpoint is served by
// this package too (as the simulated patient does).
func Example() {
	// The patient's side: an on_message endpoint for the patient's address.
	patient, err := uhiclient.NewServer("manishkahane1992@sbx")
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(patient.Handler())
	defer ts.Close()

	// The doctor's side: a builder for this consultation and a client.
	doctor, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self:          uhiclient.Person{Name: "Ganesh Vikram Borse", Cred: "ganeshborse@hpr.ndhm"},
		Peer:          uhiclient.Person{Name: "Manish Pravin Kahane", Cred: "manishkahane1992@sbx"},
		ConsumerURI:   ts.URL + "/api/v1",
		TransactionID: "642d5a60-4fa7-11ed-a230-c795d92f1fb3",
	})
	if err != nil {
		panic(err)
	}
	client, err := uhiclient.NewClient()
	if err != nil {
		panic(err)
	}
	sid := uhiclient.SessionID("ganeshborse@hpr.ndhm", "manishkahane1992@sbx")
	env, err := doctor.Offer(sid, "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Send(ctx, doctor.Identity().ConsumerURI, env); err != nil {
		panic(err)
	}

	in := <-patient.Signals()
	fmt.Println(in.Signal.Type, "from", in.Sender, "session", in.Signal.SessionID)
	// Output: OFFER from ganeshborse@hpr.ndhm session ganeshborse@hpr.ndhm-manishkahane1992@sbx
}
