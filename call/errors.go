package call

import "errors"

var (
	// ErrEnded is returned by Session methods called after the call ended.
	ErrEnded = errors.New("call: session has ended")
	// ErrBadSignal means a Signal lacks the field its Kind needs (a
	// description for OFFER/ANSWER, a candidate for CANDIDATE).
	ErrBadSignal = errors.New("call: malformed signal")
	// ErrUnexpectedSignal means a Signal came that the session's role or state
	// cannot use, such as an OFFER sent to the caller.
	ErrUnexpectedSignal = errors.New("call: unexpected signal")
	// ErrNoSignaller means Dial or Answer was given a nil Signaller.
	ErrNoSignaller = errors.New("call: no signaller")
	// ErrSetupTimeout means ICE/DTLS did not connect within the setup timeout
	// after the ANSWER.
	ErrSetupTimeout = errors.New("call: connection not established in time")
	// ErrReconnectTimeout means an ICE restart did not bring the call back in
	// time.
	ErrReconnectTimeout = errors.New("call: connection not restored in time")
	// ErrPeerClosed means the peer closed the connection (DTLS close_notify)
	// without a BYE.
	ErrPeerClosed = errors.New("call: peer closed the connection without BYE")
	// ErrNoCandidates means ICE gathering ended without a single local
	// candidate, so the peer has no address to send media to.
	ErrNoCandidates = errors.New("call: no ICE candidate gathered: no network interface is up and no STUN or TURN server answered")
	// ErrNoCamera means no camera could be opened.
	ErrNoCamera = errors.New("call: no camera found")
	// ErrNoFrame is returned by Snapshot for a frame the engine no longer
	// holds, or before the first.
	ErrNoFrame = errors.New("call: that video frame is no longer held")
	// ErrNoMicrophone means no microphone could be opened.
	ErrNoMicrophone = errors.New("call: no microphone found")
	// ErrNoDevice means the camera, microphone or speaker asked for by name
	// is not on this machine.
	ErrNoDevice = errors.New("call: no such device")
	// ErrAudioProcessing means WebRTC's audio processing module could not be
	// started for the microphone.
	ErrAudioProcessing = errors.New("call: audio processing unavailable")
	// ErrNoPlayback means there is no audio output device; the remote audio is
	// only measured (Stats.AudioLevel).
	ErrNoPlayback = errors.New("call: no audio output device")
	// ErrInvalidOption means an Option was given a value it cannot use.
	ErrInvalidOption = errors.New("call: invalid option")
	// ErrBadICEServer means an ICE server URL could not be parsed.
	ErrBadICEServer = errors.New("call: bad ICE server URL")
)
