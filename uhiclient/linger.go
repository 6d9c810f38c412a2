package uhiclient

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// An oversized request's answer (docs/protocol.md §1). A client that sends
// all of its request before it reads the reply, as the patients' apps and
// most HTTP libraries do, can only read the 413 NACK if the server does not
// close the connection with request data unread: the kernel answers such a
// close with a reset, the client's next write fails, and it reports a
// network error without ever reading the NACK (RFC 9112 §9.6). So the
// server answers as soon as the headers say the body is too large, shuts
// its side of the connection (the client reads the NACK, then the end),
// and reads and throws away whatever still comes until the client stops
// sending or a bounded time has passed, whatever the size: nginx's
// lingering close. The body is never kept: what a refused client costs is
// a connection for that time, no more than an accepted one may take.
const (
	// DefaultLingerTime is how long, at most, the server reads and throws
	// away what a client still sends after its 413: as long as HTTPServer
	// lets a whole body take (its ReadTimeout), so a client holds a
	// connection no longer by being refused than by being accepted.
	DefaultLingerTime = 20 * time.Second
	// lingerIdle ends lingering early when nothing comes for this long
	// (nginx's lingering_timeout).
	lingerIdle = 5 * time.Second
	// lingerBuffer is the size of each read while lingering.
	lingerBuffer = 32 << 10
)

// WithLinger sets how long, at most, the server keeps reading and throwing
// away what a client sends after an oversized request's 413 NACK, before
// it closes the connection (default DefaultLingerTime; 0 closes at once,
// and a client still sending may then be reset before it reads the NACK).
func WithLinger(within time.Duration) ServerOption {
	return func(s *Server) error {
		if within < 0 {
			return fmt.Errorf("%w: linger %s", ErrBadOption, within)
		}
		s.drainFor = within
		return nil
	}
}

// tooLarge answers an oversized body, of which read bytes were read, with
// its 413 NACK and closes the connection gracefully (linger). The
// connection is closed either way: what is left of a body cut short must
// not be read as the next request.
func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request, read int64) {
	rc := http.NewResponseController(w)
	// net/http reads up to 256 KiB of an unread body before it writes a
	// reply; full duplex leaves the body alone, to linger on after.
	_ = rc.EnableFullDuplex()
	w.Header().Set("Connection", "close")
	s.reject(w, r, http.StatusRequestEntityTooLarge, ErrorBody{Type: TypePolicy, Code: CodeTooLarge, Path: pathBody,
		Message: fmt.Sprintf("%v: limit is %d bytes", ErrBodyTooLarge, s.maxBody)})
	if r.ProtoMajor != 1 || s.drainFor == 0 {
		// HTTP/2 and later refuse a stream's body without closing the
		// connection.
		return
	}
	if rc.Flush() != nil {
		return
	}
	conn, buf, err := rc.Hijack()
	if err != nil {
		return // not a connection of its own (a test's recorder)
	}
	s.linger(conn, buf.Reader, r.RemoteAddr, read)
}

// linger shuts conn's sending side, the NACK written, then reads and
// throws away what still comes (from rest, which holds what net/http read
// ahead) until the client stops, or for s.drainFor at most, and closes.
func (s *Server) linger(conn net.Conn, rest *bufio.Reader, remote string, read int64) {
	defer conn.Close()
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	end := time.Now().Add(s.drainFor)
	buf := make([]byte, lingerBuffer)
	var n int64
	var err error
	for err == nil {
		deadline := time.Now().Add(lingerIdle)
		if deadline.After(end) {
			deadline = end
		}
		if err = conn.SetReadDeadline(deadline); err != nil {
			break
		}
		var k int
		k, err = rest.Read(buf)
		n += int64(k)
	}
	switch {
	case errors.Is(err, io.EOF):
		s.logger.Debug("on_message oversized body thrown away after its NACK", "bytes", read+n, "remote", remote)
	case errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(end):
		s.logger.Info("on_message oversized body cut short: the client kept sending", "bytes", read+n,
			"within", s.drainFor, "remote", remote)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.logger.Info("on_message oversized body cut short: the client went quiet", "bytes", read+n,
			"remote", remote)
	default:
		s.logger.Info("on_message oversized body cut short", "bytes", read+n, "err", err, "remote", remote)
	}
}
