/* apm.h: the C face of WebRTC's audio processing module (apm.cc), kept to
 * the four calls the microphone path needs. Audio is 16-bit mono PCM in
 * 10 ms frames. */
#ifndef TELECONSOLE_APM_H
#define TELECONSOLE_APM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_apm tc_apm;

/* tc_apm_new returns a processor for rate Hz audio (8000, 16000, 32000 or
 * 48000) with echo cancellation, noise suppression and automatic gain
 * control each on when non-zero, or NULL if the module refuses. */
tc_apm *tc_apm_new(int rate, int aec, int ns, int agc);

/* tc_apm_render hands one 10 ms frame of what the speaker plays (the echo
 * canceller's far end). Returns 0 or the module's error code. */
int tc_apm_render(tc_apm *p, const int16_t *pcm, int frames);

/* tc_apm_capture processes one 10 ms frame of the microphone in place;
 * delay_ms is the estimate of render-to-capture latency. Returns 0 or the
 * module's error code. */
int tc_apm_capture(tc_apm *p, int16_t *pcm, int frames, int delay_ms);

void tc_apm_free(tc_apm *p);

#ifdef __cplusplus
}
#endif

#endif
