package uhiclient

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// signalSeeds are content_value documents in the usual shape and beside it.
func signalSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, body := range [][]byte{offerBody(tb), answerBody(tb), candidateBody(tb)} {
		var env Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, []byte(env.Message.Intent.Chat.Content.ContentValue))
	}
	return append(seeds,
		[]byte(`{"type":"READY","data":true}`),
		[]byte(`{"type":"BYE","data":{"session_id":"a-b","from":""}}`),
		[]byte(`{"type":"BYE"}`),
		[]byte(`{"type":"OFFER","data":{"session_id":"s","description":{"sdp":"v=0","type":"answer"}}}`),
		[]byte(`{"type":"CANDIDATE","data":{"session_id":"s","candidate":{"candidate":"candidate:1","sdpMLineIndex":"0","sdpMid":0}}}`),
		[]byte(`{"type":"CANDIDATE","data":{"candidate":{"candidate":"candidate:1","sdpMLineIndex":0}}}`),
		[]byte(`{"type":"ANSWER","data":{"session_id":"s","description":"v=0\r\n"}}`),
		[]byte(`{"type":"offer","sender":" p ","data":{"session_id":"s","description":{"sdp":""}}}`),
	)
}

// FuzzDecodeSignalFastMatchesLenient: whenever the fast path takes a
// document, the lenient path, which reads every variant, gives the same
// signal or the same error.
func FuzzDecodeSignalFastMatchesLenient(f *testing.F) {
	for _, s := range signalSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok, ferr := decodeSignalFast(raw, "c")
		if !ok {
			return
		}
		slow, serr := decodeSignalLenient(raw, "c")
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("fast: %+v, %v; lenient: %+v, %v", fast, ferr, slow, serr)
		}
		if ferr != nil {
			var fe, se *FieldError
			if !errors.As(ferr, &fe) || !errors.As(serr, &se) || fe.Path != se.Path || !errors.Is(ferr, se.Err) {
				t.Fatalf("fast error %v, lenient error %v", ferr, serr)
			}
			return
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast %+v, lenient %+v", fast, slow)
		}
	})
}

// BenchmarkDecodeSignal compares the two paths on the usual documents.
func BenchmarkDecodeSignal(b *testing.B) {
	seeds := signalSeeds(b)[:3] // OFFER, ANSWER, CANDIDATE as the apps send them
	for _, c := range []struct {
		name string
		fn   func([]byte) error
	}{
		{"fast", func(r []byte) error { _, _, err := decodeSignalFast(r, "c"); return err }},
		{"lenient", func(r []byte) error { _, err := decodeSignalLenient(r, "c"); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := c.fn(seeds[i%len(seeds)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
