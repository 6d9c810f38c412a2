package record

import "time"

// State is where a consultation's record stands.
type State int

const (
	// StateUnknown is the zero State, never stored.
	StateUnknown State = iota
	// StateOpen means the consultation is going on: the console is running
	// and has not recorded its end.
	StateOpen
	// StateEnded means the call ended and its end was recorded.
	StateEnded
	// StateInterrupted means the console stopped (a crash, a kill) while
	// the consultation was open: what was written until then is kept.
	StateInterrupted
)

var stateNames = [...]string{"unknown", "open", "ended", "interrupted"}

// String is the state's name, as stored.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return stateNames[0]
	}
	return stateNames[s]
}

func parseState(s string) State {
	for i, n := range stateNames {
		if n == s {
			return State(i)
		}
	}
	return StateUnknown
}

// Patient is who a consultation was with, as their app gave it.
type Patient struct {
	// Address is the patient's ABHA address.
	Address string `json:"address"`
	// Name and Gender are as the patient's READY gave them.
	Name   string `json:"name"`
	Gender string `json:"gender"`
	// TransactionID is the consultation's UHI transaction id.
	TransactionID string `json:"transaction_id"`
}

// Quality sums up how a call went.
type Quality struct {
	// Setup is from the OFFER to the connection.
	Setup time.Duration `json:"setup_ns"`
	// RTTMedian and RTTWorst are over the call's samples.
	RTTMedian time.Duration `json:"rtt_median_ns"`
	RTTWorst  time.Duration `json:"rtt_worst_ns"`
	// LossPercent is the mean inbound loss, 0 to 100.
	LossPercent float64 `json:"loss_percent"`
	// BitrateIn and BitrateOut are the mean bit rates, in bit/s.
	BitrateIn  int `json:"bitrate_in"`
	BitrateOut int `json:"bitrate_out"`
	// AudioOnly is how long video was paused.
	AudioOnly time.Duration `json:"audio_only_ns"`
	// Reconnects counts the times the connection was lost and came back.
	Reconnects int `json:"reconnects"`
}

// Consultation is one consultation's record: one call with one patient.
type Consultation struct {
	// ID is the record's own id, made by Begin.
	ID string `json:"id"`
	// Patient is who the doctor saw.
	Patient Patient `json:"patient"`
	// Doctor is the doctor's HPR address.
	Doctor string `json:"doctor"`
	// Listed is when the patient was first listed in the waiting room.
	Listed time.Time `json:"listed"`
	// Started is when the record began: the doctor's call, or a chat
	// message before it. CallStarted is when the doctor called (zero if
	// they did not). Ended is when the call ended (zero while open, or
	// when interrupted: then LastActivity says how far it got).
	Started     time.Time `json:"started"`
	CallStarted time.Time `json:"call_started,omitzero"`
	Ended       time.Time `json:"ended,omitzero"`
	// LastActivity is the last write to the record.
	LastActivity time.Time `json:"last_activity"`
	// Length is the time connected (zero if the call never connected).
	Length time.Duration `json:"length_ns"`
	// EndReason is how the call ended, in words ("doctor hung up").
	EndReason string `json:"end_reason"`
	// State is open, ended or interrupted.
	State State `json:"-"`
	// StateName is State's name, for JSON.
	StateName string `json:"state"`
	// Quality sums up the call's network figures.
	Quality Quality `json:"quality"`
	// Messages and Files count what was exchanged (set by List and Get).
	Messages int `json:"messages"`
	Files    int `json:"files"`
}

// Direction is which way a message or file went.
type Direction string

const (
	// In is from the patient to the doctor.
	In Direction = "in"
	// Out is from the doctor to the patient.
	Out Direction = "out"
)

// Message is one chat message, either way.
type Message struct {
	// ID is the UHI message_id.
	ID string `json:"id"`
	// Consultation is the record it belongs to.
	Consultation string `json:"-"`
	// Peer is the patient's address (not stored: the consultation has it).
	Peer string `json:"-"`
	// Path is where a media message's file is kept, for the screen (not
	// stored: the file's row has it).
	Path string `json:"-"`
	// MimeType is a media message's file type, for the screen (not
	// stored: the file's row has it).
	MimeType string `json:"-"`
	// At is when it was sent or received.
	At time.Time `json:"at"`
	// Direction is In or Out.
	Direction Direction `json:"direction"`
	// ContentType is the UHI content_type ("text", "media").
	ContentType string `json:"content_type"`
	// Text is what the doctor or patient read: decrypted text, or for
	// media the file's name. A message that could not be opened keeps its
	// content_value here, as it came.
	Text string `json:"text"`
	// Encrypted says the text travelled encrypted.
	Encrypted bool `json:"encrypted"`
	// Status is the delivery result: "sent", "failed: ...", "received",
	// "unreadable: ..." (an encrypted message with no key, or a bad MAC).
	Status string `json:"status"`
}

// File is a file exchanged or taken in a consultation: an attachment either
// way, or a snapshot of the patient's video.
type File struct {
	// Consultation is the record it belongs to.
	Consultation string `json:"-"`
	// MessageID is the chat message that carried it, or "" for a snapshot.
	MessageID string `json:"message_id,omitempty"`
	// At is when it was sent, received or taken.
	At time.Time `json:"at"`
	// Direction is In, Out, or "" for a snapshot.
	Direction Direction `json:"direction,omitempty"`
	// Kind is "media" or "snapshot".
	Kind string `json:"kind"`
	// Name is the file's name as sent or received.
	Name string `json:"name"`
	// MimeType is its type.
	MimeType string `json:"mime_type"`
	// Size is its length in bytes; SHA256 its digest, in hex.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Path is where it is kept, under the data directory.
	Path string `json:"path"`
}

// Detail is a consultation with everything it left behind.
type Detail struct {
	Consultation
	// ChatLog is every chat message, oldest first.
	ChatLog []Message `json:"chat"`
	// FileList is every file, oldest first.
	FileList []File `json:"file_list"`
	// Notes are the doctor's notes, as typed.
	Notes string `json:"notes"`
}
