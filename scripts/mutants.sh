#!/bin/sh
# make mutants: takes each guarded fix out in turn, on a copy of the tree,
# runs the tests that should catch it, and reports any that stay green
# (docs/mutants.md says which claims each one covers). Slow (a few minutes),
# so not part of make test; run it before resolving an issue that touches
# what it covers. MUTANTS=name[,name] runs only those.
#
# Each mutant is a name, the packages and test names to run, and one or
# more edits: a file and a literal text in it, replaced by another. An edit
# whose text is not found exactly once is reported (the code moved: the
# mutant needs updating), never skipped in silence.
set -eu

root=$(git rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/teleconsole-mutants.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$work")

caught=0
survived=""
broken=""
only=",${MUTANTS:-},"

# edit FILE OLD NEW: replaces OLD (literal, exactly once) with NEW in the copy.
edit() {
	OLD=$2 NEW=$3 perl -0pi -e 'BEGIN { $o = $ENV{OLD}; $n = $ENV{NEW} } $c = s/\Q$o\E/$n/g; END { exit($c == 1 ? 0 : 3) }' "$work/$1"
}

# mutant NAME PKGS RUN FILE OLD NEW [FILE OLD NEW]...
mutant() {
	name=$1 pkgs=$2 run=$3
	shift 3
	case $only in ,,) ;; *",$name,"*) ;; *) return 0 ;; esac
	files=""
	ok=1
	while [ $# -ge 3 ]; do
		files="$files $1"
		if ! edit "$1" "$2" "$3"; then
			ok=0
		fi
		shift 3
	done
	if [ $ok = 0 ]; then
		echo "mutants: $name: DOES NOT APPLY (the code it edits moved)"
		broken="$broken $name"
	else
		printf 'mutants: %s: ' "$name"
		log="$work/.mutant-$name.log"
		if (cd "$work" && CGO_ENABLED=1 go test -race -count=1 -timeout 5m -run "$run" $pkgs) >"$log" 2>&1; then
			echo "SURVIVED: $run stayed green in $pkgs"
			survived="$survived $name"
		elif grep -q '^--- FAIL' "$log"; then
			echo "caught by $(grep '^--- FAIL' "$log" | sed 's/^--- FAIL: \([^ ]*\).*/\1/' | sort -u | tr '\n' ' ')"
			caught=$((caught + 1))
		else
			echo "DID NOT BUILD OR RUN:"
			tail -20 "$log"
			broken="$broken $name"
		fi
	fi
	for f in $files; do
		cp "$root/$f" "$work/$f"
	done
}

mutant late-candidates ./call/ '^TestSetupWithLateCandidates$' \
	call/engine.go '	se.SetPrflxAcceptanceMinWait(0)' '' \
	call/loop.go '	s.nudges.Go(s.nudgeNomination)' ''

mutant playout-hold ./call/ '^TestLipSyncHeldOnACall$' \
	call/remote.go 'hold = a.playout.audioHold(' '_ = a.playout.audioHold('

# pion's own sender reports back in place of the capture clock's.
mutant sender-clock ./call/ '^TestSenderReportsTellCaptureInACall$' \
	call/engine.go '	reg.Add(senderClockFactory{clock: capture, log: lf.NewLogger("sender-clock")})' '	if sr, err := report.NewSenderInterceptor(); err == nil {
		reg.Add(sr)
	}
	_ = senderClockFactory{}'

mutant rtx-limiter ./call/ '^TestRetransmissionLimiterInACall$' \
	call/engine.go '	reg.Add(rtxLimiterFactory{log: lf.NewLogger("rtx"), target: func() int {' '	_ = (rtxLimiterFactory{log: lf.NewLogger("rtx"), target: func() int {'

mutant echo-gate-off ./call/ '^TestEchoGateOnEchoOnlyFrames$' \
	call/audioproc.go '			a.gateFrame(buf, in)' '			_ = in'

mutant echo-gate-shut ./call/ '^TestAudioProcessorDoubleTalk$' \
	call/audioproc.go '	target := 1.0' '	target := gateFloor'

mutant ssh-budget ./ui/ '^TestRemoteTerminalPictureKeptToBudget$' \
	ui/model.go '		budget = m.budget' '		budget = 0'

mutant record-rtt ./app/ '^TestCallMeterQuality$' \
	app/recording.go 'q.RTTMedian, q.RTTWorst = r[len(r)/2], r[len(r)-1]' '_ = r'

mutant record-audio-only-reconnects ./app/ '^TestCallMeterQuality$' \
	app/recording.go 'q.AudioOnly, q.Reconnects = m.audioOnly, m.reconnects' '_ = m.audioOnly'

# The fetch check: the tests' own dialer control refuses every address
# but loopback, so this mutant sends nothing off the machine.
mutant fetch-guard './uhiclient/ ./app/' '^(TestFetchMediaRefusesInside|TestChatMediaURLInsideRefused|TestChatMediaURLRefusedByDefault)$' \
	uhiclient/fetchguard.go '	addr = addr.Unmap()
	for _, n := range p.Allow {' '	return nil
	addr = addr.Unmap()
	for _, n := range p.Allow {'

mutant oversize-linger ./uhiclient/ '^TestServerOversizeNackWhateverTheSize$' \
	uhiclient/linger.go '	s.linger(conn, buf.Reader, r.RemoteAddr, read)' '	_, _ = buf, conn.Close()'

mutant reconnect-defaults ./call/ '^TestReconnectTimeoutDefaults$' \
	call/engine.go 'defaultReconnectTimeout  = 10 * time.Second' 'defaultReconnectTimeout  = 15 * time.Second'

echo "mutants: $caught caught${survived:+; survived:$survived}${broken:+; not run:$broken}"
[ -z "$survived" ] && [ -z "$broken" ]
