package call

import (
	"errors"
	"testing"
)

func TestMatchDevice(t *testing.T) {
	devs := []Device{
		{Kind: DeviceMicrophone, ID: "microphone", Name: "Microphone"},
		{Kind: DeviceMicrophone, ID: "mic.monitor", Name: "Monitor of Microphone"},
		{Kind: DeviceMicrophone, ID: "usb-headset", Name: "USB Headset Mono"},
	}
	for want, id := range map[string]string{
		"mic.monitor": "mic.monitor", // by id
		"Microphone":  "microphone",  // by name, though another name contains it
		"headset":     "usb-headset", // the one name that contains it
	} {
		d, err := matchDevice(want, devs)
		if err != nil || d.ID != id {
			t.Errorf("%q: %+v, %v; want id %q", want, d, err, id)
		}
	}
	for _, bad := range []string{"camera", "micro"} { // none, two
		if _, err := matchDevice(bad, devs); !errors.Is(err, ErrNoDevice) {
			t.Errorf("%q: %v, want ErrNoDevice", bad, err)
		}
	}
}

func TestDeviceKindString(t *testing.T) {
	for k, want := range map[DeviceKind]string{DeviceUnknown: "unknown", DeviceCamera: "camera", DeviceMicrophone: "microphone", DeviceSpeaker: "speaker"} {
		if k.String() != want {
			t.Errorf("%d: %q, want %q", int(k), k.String(), want)
		}
	}
}
