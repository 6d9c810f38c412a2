// speex.c wraps speexdsp's echo canceller (MDF) and preprocessor behind
// speex.h. speex_echo_playback/speex_echo_capture keep their own buffer
// between the two sides, as a speaker and a microphone on two threads need.

#include "speex.h"

#include <stdlib.h>
#include <string.h>

#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

struct tc_speex {
	SpeexEchoState *echo;
	SpeexPreprocessState *pre;
	int frame;
	int16_t *out;
};

tc_speex *tc_speex_new(int rate, int tail_ms, int aec, int ns, int agc) {
	tc_speex *s = calloc(1, sizeof *s);
	if (s == NULL) return NULL;
	s->frame = rate / 100;
	s->out = calloc(s->frame, sizeof(int16_t));
	if (aec) {
		s->echo = speex_echo_state_init(s->frame, rate * tail_ms / 1000);
		speex_echo_ctl(s->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
	}
	s->pre = speex_preprocess_state_init(s->frame, rate);
	if (s->echo) speex_preprocess_ctl(s->pre, SPEEX_PREPROCESS_SET_ECHO_STATE, s->echo);
	speex_preprocess_ctl(s->pre, SPEEX_PREPROCESS_SET_DENOISE, &ns);
	speex_preprocess_ctl(s->pre, SPEEX_PREPROCESS_SET_AGC, &agc);
	return s;
}

void tc_speex_render(tc_speex *s, const int16_t *pcm) {
	if (s->echo) speex_echo_playback(s->echo, pcm);
}

void tc_speex_capture(tc_speex *s, int16_t *pcm) {
	if (s->echo) {
		speex_echo_capture(s->echo, pcm, s->out);
		memcpy(pcm, s->out, sizeof(int16_t) * s->frame);
	}
	speex_preprocess_run(s->pre, pcm);
}

void tc_speex_free(tc_speex *s) {
	if (s == NULL) return;
	if (s->echo) speex_echo_state_destroy(s->echo);
	speex_preprocess_state_destroy(s->pre);
	free(s->out);
	free(s);
}
