package euatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// IST is India Standard Time, the zone of every time inside a UHI message.
func IST() *time.Location { return time.FixedZone("IST", 5*3600+1800) }

// LocalLayout is how UHI writes a time inside a message: local India time,
// no zone ("2026-12-07T10:30:00").
const LocalLayout = "2006-01-02T15:04:05"

// Local formats t as LocalLayout in IST.
func Local(t time.Time) string { return t.In(IST()).Format(LocalLayout) }

// contextTime is the context.timestamp form: UTC with a Z, as the patient
// apps send it.
func contextTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// maxBody bounds what the fakes read from one request or reply.
const maxBody = 4 << 20

// Reply is an HTTP answer to a POST: the status and the UHI acknowledgement.
type Reply struct {
	// Status is the HTTP status code.
	Status int
	// Body is the raw reply.
	Body []byte
	// Ack is message.ack.status: "ACK", "NACK", or "" when the body has none.
	Ack string
	// ErrorCode and ErrorMessage are the reply's error.code and error.message.
	ErrorCode, ErrorMessage string
}

// OK says whether the reply is HTTP 200 with an ACK.
func (r Reply) OK() bool { return r.Status == http.StatusOK && r.Ack == "ACK" }

// Err is nil for an ACK, else an error that says what came back.
func (r Reply) Err() error {
	if r.OK() {
		return nil
	}
	return fmt.Errorf("euatest: HTTP %d %s %s %s", r.Status, r.Ack, r.ErrorCode, r.ErrorMessage)
}

func parseReply(status int, body []byte) Reply {
	r := Reply{Status: status, Body: body}
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		r.Ack = Str(m, "message.ack.status")
		r.ErrorCode = Str(m, "error.code")
		r.ErrorMessage = Str(m, "error.message")
	}
	return r
}

// post sends body to url with the given headers (empty values are left out).
func post(c *http.Client, url string, body []byte, headers map[string]string) (Reply, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return Reply{}, err
	}
	return parseReply(resp.StatusCode, b), nil
}

const ackJSON = `{"message":{"ack":{"status":"ACK"}}}`

func writeAck(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, ackJSON)
}

// writeNack answers a NACK with code and message.
func writeNack(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{
		"message": map[string]any{"ack": map[string]any{"status": "NACK"}},
		"error":   map[string]any{"type": "POLICY-ERROR", "code": code, "message": msg},
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readJSON reads a request body and decodes it as a JSON object.
func readJSON(r *http.Request) ([]byte, map[string]any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return body, nil, err
	}
	return body, m, nil
}

// Get returns the value at a dotted path in decoded JSON ("message.order.id",
// "message.catalog.fulfillments.0.id"); nil when absent. A key that itself
// contains dots, like the tag "@abdm/gov.in/slot_id", is reached with Tag.
func Get(v any, path string) any {
	if path == "" {
		return v
	}
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// Str is Get as a string; "" when absent or not a string.
func Str(v any, path string) string {
	s, _ := Get(v, path).(string)
	return s
}

// Tag returns the tag key of the object at path (a "tags" object), trying
// both spellings of the ABDM prefix: "@abdm/gov.in/<name>" and
// "@abdm/gov/in/<name>".
func Tag(v any, path, name string) string {
	m, _ := Get(v, path).(map[string]any)
	for _, k := range []string{"@abdm/gov.in/" + name, "@abdm/gov/in/" + name} {
		if s, ok := m[k].(string); ok {
			return s
		}
	}
	return ""
}

// Set puts value at a dotted path of m, making objects on the way; it is for
// tests that break one field of a request.
func Set(m map[string]any, path string, value any) {
	parts := strings.Split(path, ".")
	var cur any = m
	for i, p := range parts {
		last := i == len(parts)-1
		switch x := cur.(type) {
		case map[string]any:
			if last {
				x[p] = value
				return
			}
			next := x[p]
			if next == nil {
				next = map[string]any{}
				x[p] = next
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(x) {
				panic("euatest.Set: no element " + p + " in " + path)
			}
			if last {
				x[n] = value
				return
			}
			cur = x[n]
		default:
			panic("euatest.Set: " + path + " crosses a non-object")
		}
	}
}

// clone deep-copies decoded JSON.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = clone(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = clone(e)
		}
		return s
	default:
		return v
	}
}

func newID() string { return uuid.NewString() }
