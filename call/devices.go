package call

import (
	"bytes"
	"fmt"
	"strings"
	"unsafe"

	"github.com/gen2brain/malgo"
	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/driver"
)

// DeviceKind says what a Device is. The zero value is DeviceUnknown.
type DeviceKind int

// The kinds of device a call uses.
const (
	// DeviceUnknown is the zero value.
	DeviceUnknown DeviceKind = iota
	// DeviceCamera gives the doctor's picture.
	DeviceCamera
	// DeviceMicrophone gives the doctor's sound.
	DeviceMicrophone
	// DeviceSpeaker plays the patient's sound.
	DeviceSpeaker
)

// String names the kind as teleconsole devices prints it.
func (k DeviceKind) String() string {
	switch k {
	case DeviceCamera:
		return "camera"
	case DeviceMicrophone:
		return "microphone"
	case DeviceSpeaker:
		return "speaker"
	default:
		return "unknown"
	}
}

// Device is one camera, microphone or speaker on this machine.
type Device struct {
	Kind DeviceKind
	// ID is the system's name for it (PulseAudio's source or sink name, a
	// camera's device id); --camera, --microphone and --speaker take it or
	// Name.
	ID string
	// Name is the description the system gives.
	Name string
	// Default is true for the device used when none is chosen.
	Default bool
}

// Devices lists the cameras, microphones and speakers calls can use, in
// that order. A sound system that cannot be reached lists no microphones or
// speakers; that is not an error.
func Devices() []Device {
	var out []Device
	for i, d := range cameras() {
		out = append(out, Device{Kind: DeviceCamera, ID: d.DeviceID, Name: d.Label, Default: i == 0})
	}
	for _, k := range []DeviceKind{DeviceMicrophone, DeviceSpeaker} {
		devs, err := soundDevices(k)
		if err != nil {
			continue
		}
		for _, d := range devs {
			out = append(out, Device{Kind: k, ID: soundID(d.ID), Name: d.Name(), Default: d.IsDefault != 0})
		}
	}
	return out
}

// cameras are the video inputs mediadevices knows, screens left out.
func cameras() []mediadevices.MediaDeviceInfo {
	var out []mediadevices.MediaDeviceInfo
	for _, d := range mediadevices.EnumerateDevices() {
		if d.Kind == mediadevices.VideoInput && d.DeviceType != driver.Screen {
			out = append(out, d)
		}
	}
	return out
}

func malgoKind(k DeviceKind) malgo.DeviceType {
	if k == DeviceSpeaker {
		return malgo.Playback
	}
	return malgo.Capture
}

// soundDevices lists the capture or playback devices of the real sound
// systems.
func soundDevices(k DeviceKind) ([]malgo.DeviceInfo, error) {
	ctx, err := audioContext()
	if err != nil {
		return nil, err
	}
	defer freeAudioContext(ctx)
	return ctx.Devices(malgoKind(k))
}

// soundID is a miniaudio device id as text: PulseAudio's and ALSA's ids
// are C strings (the source or sink name, the hw name); others show in hex.
func soundID(id malgo.DeviceID) string {
	b := id[:]
	if i := bytes.IndexByte(b, 0); i > 0 {
		s := string(b[:i])
		printable := true
		for _, r := range s {
			if r < ' ' || r > '~' {
				printable = false
			}
		}
		if printable {
			return s
		}
	}
	return id.String()
}

// matchDevice finds want among devs by ID, then by name, then by a name
// that contains it (ignoring case) if only one does.
func matchDevice(want string, devs []Device) (Device, error) {
	for _, d := range devs {
		if d.ID == want {
			return d, nil
		}
	}
	for _, d := range devs {
		if d.Name == want {
			return d, nil
		}
	}
	var found []Device
	for _, d := range devs {
		if strings.Contains(strings.ToLower(d.Name), strings.ToLower(want)) {
			found = append(found, d)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	if len(found) > 1 {
		return Device{}, fmt.Errorf("%w: %q matches %d devices; give its id (teleconsole devices lists them)", ErrNoDevice, want, len(found))
	}
	return Device{}, fmt.Errorf("%w: %q (teleconsole devices lists them)", ErrNoDevice, want)
}

// soundDeviceID returns the miniaudio id of the device of kind k chosen by
// name (nil for the default) as C memory for a device config, and a
// function that frees it once the device is initialised.
func soundDeviceID(ctx *malgo.AllocatedContext, k DeviceKind, name string) (unsafe.Pointer, func(), error) {
	if name == "" {
		return nil, func() {}, nil
	}
	infos, err := ctx.Devices(malgoKind(k))
	if err != nil {
		return nil, nil, err
	}
	devs := make([]Device, len(infos))
	for i, d := range infos {
		devs[i] = Device{Kind: k, ID: soundID(d.ID), Name: d.Name()}
	}
	d, err := matchDevice(name, devs)
	if err != nil {
		return nil, nil, err
	}
	for i := range devs {
		if devs[i] == d {
			p := infos[i].ID.Pointer()
			return p, func() { freeC(p) }, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: %q", ErrNoDevice, name)
}

// cameraID is the mediadevices id of the camera called name.
func cameraID(name string) (string, error) {
	var devs []Device
	for _, d := range cameras() {
		devs = append(devs, Device{Kind: DeviceCamera, ID: d.DeviceID, Name: d.Label})
	}
	d, err := matchDevice(name, devs)
	if err != nil {
		return "", fmt.Errorf("camera: %w", err)
	}
	return d.ID, nil
}
