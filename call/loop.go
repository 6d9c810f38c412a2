package call

import (
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
)

// loop owns the session's state until the call ends, then releases
// everything. It is the only goroutine that touches the peer connection's
// negotiation, the timers and the pending events.
func (s *Session) loop() {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for !s.ending {
		s.flush()
		select {
		case <-s.box.notify:
			msgs, _ := s.box.take()
			for _, m := range msgs {
				s.handle(m)
			}
		case <-ticker.C:
			if st := s.State(); st == StateConnected || st == StateReconnecting {
				sample := s.sample()
				// A pair's remote side learnt from its checks (peer-reflexive)
				// takes the type of the candidate signalled later for the same
				// address (RFC 8838 §11.4), without a change of pair: the
				// sample sees it.
				s.notePath(sample.Path)
				if st == StateConnected {
					s.adaptTo(&sample)
				}
				sample.AudioOnly = sample.AudioOnly || s.adapt.level == levelAudioOnly
				sample.Note = s.adapt.note
				sample.Remark = s.media.deviceRemark()
				if note := s.media.deviceNote(time.Now()); note != "" {
					sample.Note = note // a lost device matters more than a rung
				}
				s.emit(StatsEvent{Peer: s.peer, Stats: sample})
			}
		case <-timerC(s.ringTimer):
			s.log.Info("no answer", "after", s.e.ringTimeout)
			s.end(EndNoAnswer, nil)
		case <-timerC(s.setupTimer):
			s.end(EndConnectionLost, ErrSetupTimeout)
		case <-timerC(s.reconnectTimer):
			s.end(EndConnectionLost, ErrReconnectTimeout)
		case <-timerC(s.closedTimer):
			s.end(EndConnectionLost, ErrPeerClosed)
		}
	}
	s.cleanup()
}

// closedGrace is how long a BYE may trail the peer's closing of the
// connection and still count as a hang-up rather than a lost connection.
const closedGrace = time.Second

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func stopTimer(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

func (s *Session) handle(m any) {
	if s.ending {
		if sig, ok := m.(msgSignal); ok {
			sig.reply <- ErrEnded
		}
		return
	}
	switch m := m.(type) {
	case msgSignal:
		m.reply <- s.onSignal(m.sig)
	case msgEnd:
		s.end(m.reason, m.err)
	case msgCandidate:
		c := m.c
		s.gathered++
		s.out.send(Signal{Kind: SignalCandidate, Candidate: &c})
	case msgGathered:
		// Without one local candidate the peer has nowhere to send media:
		// say so now rather than after the setup timeout. (After an ICE
		// restart the first gathering's candidates count: the network did
		// exist, and the reconnect timeout handles its loss.)
		if s.gathered == 0 {
			s.end(EndNoNetwork, ErrNoCandidates)
		}
	case msgICE:
		s.onICE(m.st)
	case msgPC:
		s.onPC(m.st)
	case msgSent:
		// The OFFER could not be delivered (after the wire adapter's
		// retries): the patient is unreachable. Later failures are logged by
		// the outbox and otherwise left to the ICE and timeout machinery.
		if m.err != nil && m.sig.Kind == SignalOffer && s.State() == StateCalling {
			s.end(EndUnreachable, fmt.Errorf("send offer: %w", m.err))
		}
	case msgPath:
		s.notePath(m.path)
	case msgBitrate:
		// The target is read again rather than taken from the message: GCC
		// calls back on a new goroutine for each change, so the calls can
		// arrive out of order, and a stale high target once stayed for
		// seconds after the link had fallen (seen in the fault tests).
		// GCC's loss-based estimate can dip below SendSideBWEMinBitrate
		// (seen in tests), so the floor and ceiling are enforced here too.
		s.target = max(s.e.minBitrate, min(s.e.maxBitrate, s.bwe.GetTargetBitrate()))
		s.media.setBitrate(min(s.target, s.adapt.ceiling(s.e.maxBitrate)))
	}
}

// notePath logs and reports the selected pair p if it is new.
func (s *Session) notePath(p Path) {
	if p == s.path || !p.Known() {
		return
	}
	if s.path.Known() {
		s.log.Info("selected pair changed", append(p.logAttrs(), "was", s.path.String())...)
	} else {
		s.log.Info("selected pair", p.logAttrs()...)
	}
	s.path = p
	s.emit(PathEvent{Peer: s.peer, Path: p})
}

func (s *Session) onSignal(sig Signal) error {
	switch sig.Kind {
	case SignalOffer:
		return s.onOffer(*sig.Description)
	case SignalAnswer:
		return s.onAnswer(*sig.Description)
	case SignalCandidate:
		return s.onCandidate(*sig.Candidate)
	case SignalBye:
		// docs/protocol.md §3: BYE is hang-up, reject or leaving.
		if s.role == roleCaller && s.State() == StateCalling {
			s.end(EndDeclined, nil)
		} else {
			s.end(EndRemoteBye, nil)
		}
		return nil
	}
	return fmt.Errorf("%w: %v", ErrUnexpectedSignal, sig.Kind)
}

// onOffer answers a new OFFER from the caller: an ICE restart after a
// disconnection. A repeated OFFER is ignored (docs/protocol.md §3).
func (s *Session) onOffer(offer webrtc.SessionDescription) error {
	if s.role != roleAnswerer {
		return fmt.Errorf("%w: OFFER to the caller", ErrUnexpectedSignal)
	}
	if rd := s.pc.RemoteDescription(); rd != nil && rd.SDP == offer.SDP {
		s.log.Debug("repeated offer ignored")
		return nil
	}
	if err := s.pc.SetRemoteDescription(offer); err != nil {
		return fmt.Errorf("set remote offer: %w", err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("set local answer: %w", err)
	}
	s.log.Info("answered a new offer (ICE restart)")
	s.out.send(Signal{Kind: SignalAnswer, Description: &answer})
	s.applyHeld()
	return nil
}

// onAnswer applies the ANSWER to our outstanding OFFER. An ANSWER when no
// OFFER is outstanding is a repeat and is ignored (docs/protocol.md §3).
func (s *Session) onAnswer(answer webrtc.SessionDescription) error {
	if s.role != roleCaller {
		return fmt.Errorf("%w: ANSWER to the answerer", ErrUnexpectedSignal)
	}
	if s.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		s.log.Debug("repeated answer ignored")
		return nil
	}
	if err := s.pc.SetRemoteDescription(answer); err != nil {
		err = fmt.Errorf("set remote answer: %w", err)
		if s.State() == StateCalling {
			s.end(EndFailed, err)
		}
		return err
	}
	s.applyHeld()
	s.nudges.Go(s.nudgeNomination)
	if s.State() == StateCalling {
		stopTimer(&s.ringTimer)
		s.setupTimer = time.NewTimer(s.e.setupTimeout)
		s.setState(StateConnecting, nil)
	}
	return nil
}

// onCandidate applies a remote candidate, or holds it while no remote
// description is set or our own OFFER awaits its ANSWER: HTTP reorders, so a
// CANDIDATE can overtake the ANSWER (docs/protocol.md §3; applying it
// early is a weakness of the reference apps, §6). Repeats are dropped.
func (s *Session) onCandidate(c webrtc.ICECandidateInit) error {
	key := c.Candidate
	if c.UsernameFragment != nil {
		key = *c.UsernameFragment + " " + key
	}
	if _, dup := s.seen[key]; dup {
		return nil
	}
	s.seen[key] = struct{}{}
	if s.pc.RemoteDescription() == nil || s.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		s.held = append(s.held, c)
		return nil
	}
	if err := s.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("add candidate: %w", err)
	}
	return nil
}

func (s *Session) applyHeld() {
	held := s.held
	s.held = nil
	for _, c := range held {
		if err := s.pc.AddICECandidate(c); err != nil {
			s.log.Warn("held candidate rejected", "err", err)
		}
	}
}

// onICE watches the ICE connection (docs/protocol.md §6: the
// reference apps never notice a vanished peer). On disconnection the call
// becomes Reconnecting; the caller tries an ICE restart; if the call is not
// back within the reconnect timeout it ends as EndConnectionLost.
func (s *Session) onICE(st webrtc.ICEConnectionState) {
	s.log.Debug("ice state", "state", st.String())
	switch st {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		if s.State() == StateReconnecting {
			stopTimer(&s.reconnectTimer)
			s.media.forceKeyFrame()
			s.setState(StateConnected, nil)
		}
	case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed:
		switch s.State() {
		case StateConnected:
			s.reconnectTimer = time.NewTimer(s.e.reconnectTimeout)
			s.setState(StateReconnecting, nil)
			s.restart()
		case StateReconnecting:
			s.restart()
		}
	}
}

// onPC moves Connecting to Connected once ICE and DTLS are both up.
func (s *Session) onPC(st webrtc.PeerConnectionState) {
	s.log.Debug("connection state", "state", st.String())
	switch st {
	case webrtc.PeerConnectionStateConnected:
		if s.State() == StateConnecting {
			stopTimer(&s.setupTimer)
			s.media.forceKeyFrame()
			s.connectedAt = s.e.now()
			s.setState(StateConnected, nil)
		}
	case webrtc.PeerConnectionStateFailed:
		if s.State() == StateConnecting {
			s.end(EndConnectionLost, fmt.Errorf("peer connection failed"))
		}
	case webrtc.PeerConnectionStateClosed:
		// Only the peer can have closed it (we close it in cleanup, after the
		// loop): pion closes on the peer's DTLS close_notify. The peer's BYE
		// often races it, so give the BYE a moment before calling it lost.
		if s.closedTimer == nil {
			s.closedTimer = time.NewTimer(closedGrace)
		}
	}
}

// restart sends an OFFER with new ICE credentials (caller only, and only
// when no OFFER is outstanding).
func (s *Session) restart() {
	if s.role != roleCaller || s.pc.SignalingState() != webrtc.SignalingStateStable {
		return
	}
	offer, err := s.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err == nil {
		err = s.pc.SetLocalDescription(offer)
	}
	if err != nil {
		s.log.Warn("ICE restart failed", "err", err)
		return
	}
	s.log.Info("ICE restart offer sent")
	s.out.send(Signal{Kind: SignalOffer, Description: &offer})
}

func (s *Session) setState(st State, err error) {
	s.state.Store(int32(st))
	s.emit(StateEvent{Peer: s.peer, State: st, Err: err})
}

// end starts the end of the call; the loop then runs cleanup.
func (s *Session) end(reason EndReason, err error) {
	if s.ending {
		return
	}
	s.ending = true
	s.reason.Store(int32(reason))
	s.state.Store(int32(StateEnded))
	close(s.ended)
	s.log.Info("call ended", "reason", reason.String(), "err", err)
	s.emit(StateEvent{Peer: s.peer, State: StateEnded, Reason: reason, Err: err})
	// No BYE to a peer that has left (BYE, or back in the waiting room) or
	// that cannot be reached.
	bye := reason != EndRemoteBye && reason != EndDeclined && reason != EndUnreachable && reason != EndRejoined
	s.out.finish(bye)
}

// cleanup releases everything in an order that avoids mediadevices'
// close-while-bound deadlocks (docs/stack.md, "mediadevices"): close the peer connection (which
// unbinds the tracks), wait for our readers, then close the tracks and their
// sources.
func (s *Session) cleanup() {
	stopTimer(&s.ringTimer)
	stopTimer(&s.setupTimer)
	stopTimer(&s.reconnectTimer)
	stopTimer(&s.closedTimer)
	s.box.close()
	for _, m := range s.drainBox() {
		if sig, ok := m.(msgSignal); ok {
			sig.reply <- ErrEnded
		}
	}
	// Unpause video first: while audio-only the encoder's reader waits in
	// gateVideo for a frame it may send, and mediadevices' unbind (inside
	// pc.Close) waits for that reader's loop to come round.
	s.media.level.Store(int32(levelFull))
	s.nudges.Wait() // each stops within nudgeEvery of the end (s.ended)
	if err := s.pc.Close(); err != nil {
		s.log.Debug("closing peer connection", "err", err)
	}
	s.workersMu.Lock()
	s.workersClosed = true
	s.workersMu.Unlock()
	s.workers.Wait()
	s.media.close()
	<-s.out.done

	deadline := time.NewTimer(finalFlushTimeout)
	defer deadline.Stop()
	for len(s.pending) > 0 {
		select {
		case s.events <- s.pending[0]:
			s.pending = s.pending[1:]
		case <-deadline.C:
			s.log.Warn("events reader stalled; dropping events", "dropped", len(s.pending))
			s.pending = nil
		}
	}
	close(s.events)
	close(s.done)
}

func (s *Session) drainBox() []any {
	msgs, _ := s.box.take()
	return msgs
}

// emit queues an event for Events without ever blocking the loop. A
// StatsEvent is dropped when the reader is behind; StateEvents wait in order.
func (s *Session) emit(ev Event) {
	if _, ok := ev.(StatsEvent); ok {
		if len(s.pending) == 0 && len(s.events) < cap(s.events)/2 {
			s.events <- ev // only the loop sends, so this cannot block
		}
		return
	}
	s.pending = append(s.pending, ev)
	s.flush()
}

func (s *Session) flush() {
	for len(s.pending) > 0 {
		select {
		case s.events <- s.pending[0]:
			s.pending = s.pending[1:]
		default:
			return
		}
	}
}
