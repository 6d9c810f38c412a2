/* speex.h: speexdsp's echo canceller and preprocessor (speex.c) behind the
 * same calls as apm.h, for measuring one against the other. */
#ifndef TELECONSOLE_SPEEX_H
#define TELECONSOLE_SPEEX_H

#include <stdint.h>

typedef struct tc_speex tc_speex;

/* tc_speex_new returns a canceller for rate Hz audio in 10 ms frames with a
 * filter tail_ms long, noise suppression and gain control on when
 * non-zero. */
tc_speex *tc_speex_new(int rate, int tail_ms, int aec, int ns, int agc);

/* tc_speex_render hands one frame the speaker plays. Not concurrent with
 * tc_speex_capture: the caller holds one lock for both. */
void tc_speex_render(tc_speex *s, const int16_t *pcm);

/* tc_speex_capture processes one frame of the microphone in place. */
void tc_speex_capture(tc_speex *s, int16_t *pcm);

void tc_speex_free(tc_speex *s);

#endif
