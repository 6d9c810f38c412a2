// apm.cc wraps webrtc::AudioProcessing (Debian's webrtc-audio-processing,
// the module Chromium runs on getUserMedia audio) behind apm.h.

#include "apm.h"

#include <string.h>

#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

struct tc_apm {
	webrtc::AudioProcessing *apm;
	int rate;
	webrtc::AudioFrame render;
	webrtc::AudioFrame capture;
};

static void fill(webrtc::AudioFrame *f, int rate, const int16_t *pcm, int frames) {
	f->sample_rate_hz_ = rate;
	f->num_channels_ = 1;
	f->samples_per_channel_ = frames;
	memcpy(f->data_, pcm, sizeof(int16_t) * frames);
}

extern "C" tc_apm *tc_apm_new(int rate, int aec, int ns, int agc) {
	if (rate != 8000 && rate != 16000 && rate != 32000 && rate != 48000) return nullptr;
	webrtc::Config cfg;
	// As Chromium configures it: the delay between playback and capture is
	// found from the signals, and the longer filter covers rooms and
	// sound servers with a few hundred ms of latency.
	cfg.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
	cfg.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
	webrtc::AudioProcessing *apm = webrtc::AudioProcessing::Create(cfg);
	if (apm == nullptr) return nullptr;
	bool ok = apm->high_pass_filter()->Enable(aec || ns || agc) == 0;
	ok = ok && apm->echo_cancellation()->Enable(aec != 0) == 0;
	if (aec) {
		ok = ok && apm->echo_cancellation()->set_suppression_level(webrtc::EchoCancellation::kHighSuppression) == 0;
		ok = ok && apm->echo_cancellation()->enable_drift_compensation(false) == 0;
	}
	ok = ok && apm->noise_suppression()->set_level(webrtc::NoiseSuppression::kHigh) == 0;
	ok = ok && apm->noise_suppression()->Enable(ns != 0) == 0;
	if (agc) {
		// 5 dB of compression gain rather than the module's 9: in the echo
		// test (systest/echo_test.go) 9 dB lifted the echo left after
		// cancellation by about 5 dB (26 dB of echo return loss enhancement
		// against 31 with aec+ns alone); 5 dB gives 29.
		ok = ok && apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital) == 0;
		ok = ok && apm->gain_control()->set_target_level_dbfs(3) == 0;
		ok = ok && apm->gain_control()->set_compression_gain_db(5) == 0;
		ok = ok && apm->gain_control()->enable_limiter(true) == 0;
	}
	ok = ok && apm->gain_control()->Enable(agc != 0) == 0;
	if (!ok) {
		delete apm;
		return nullptr;
	}
	tc_apm *p = new tc_apm;
	p->apm = apm;
	p->rate = rate;
	return p;
}

extern "C" int tc_apm_render(tc_apm *p, const int16_t *pcm, int frames) {
	if (frames != p->rate / 100) return webrtc::AudioProcessing::kBadDataLengthError;
	fill(&p->render, p->rate, pcm, frames);
	return p->apm->ProcessReverseStream(&p->render);
}

extern "C" int tc_apm_capture(tc_apm *p, int16_t *pcm, int frames, int delay_ms) {
	if (frames != p->rate / 100) return webrtc::AudioProcessing::kBadDataLengthError;
	fill(&p->capture, p->rate, pcm, frames);
	p->apm->set_stream_delay_ms(delay_ms);
	int err = p->apm->ProcessStream(&p->capture);
	if (err == 0) memcpy(pcm, p->capture.data_, sizeof(int16_t) * frames);
	return err;
}

extern "C" void tc_apm_free(tc_apm *p) {
	if (p == nullptr) return;
	delete p->apm;
	delete p;
}
