package main

import (
	"strings"
	"testing"

	"teleconsole/call"
)

func TestWriteDevices(t *testing.T) {
	var b strings.Builder
	writeDevices(&b, []call.Device{
		{Kind: call.DeviceSpeaker, ID: "speaker", Name: "Speaker", Default: true},
		{Kind: call.DeviceMicrophone, ID: "microphone", Name: "Microphone", Default: true},
		{Kind: call.DeviceMicrophone, ID: "speaker.monitor", Name: "Monitor of Speaker"},
	})
	want := "" +
		"KIND           ID               NAME\n" +
		"camera         -                none found\n" +
		"microphone  *  microphone       Microphone\n" +
		"microphone     speaker.monitor  Monitor of Speaker\n" +
		"speaker     *  speaker          Speaker\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
