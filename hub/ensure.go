package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Making or binding the hub's JetStream assets (the stream, the buckets,
// the consumers) at start. Every replica does it, alone or with others,
// before or after its NATS servers are reachable: each is idempotent (what
// is there with the same configuration is kept), and each is tried again,
// with backoff, for as long as it fails for a reason that waiting mends: no
// server reachable yet, no JetStream leader yet on a new cluster (a request
// unanswered, "JetStream system temporarily unavailable", "insufficient
// resources" while the peers join), two replicas making the same asset at
// once. A new asset (a bucket of bookings, say) is one more ensure call in
// Hub.setup, with its own config.

// Bounds of ensure.
const (
	// attemptFirst bounds each of the first attempts, shortAttempts of
	// them; later ones are given up to attemptMax, for a cluster that
	// answers but slowly. A request made while the cluster has no leader
	// is not answered at all, and is better made again soon than waited
	// for: with attempts of 2, 3 and 4 s, a replica found the leader
	// elected up to 4 s late, and 2 of 20 simultaneous starts took more
	// than 10 s.
	attemptFirst  = time.Second
	shortAttempts = 8
	attemptMax    = 5 * time.Second
	// backoffFirst and backoffMax are the waits between attempts.
	backoffFirst = 100 * time.Millisecond
	backoffMax   = time.Second
)

// errCodeStreamInvalidConfig is JetStream's "stream configuration ...
// invalid" (an update that changes the storage type, say), which the
// client library names no constant for.
const errCodeStreamInvalidConfig jetstream.ErrorCode = 10052

// ErrSetup wraps a failure of the hub's start that no retry mends.
var ErrSetup = errors.New("the hub cannot set up its JetStream assets")

// ensure calls make until it succeeds, ctx ends, or it fails for a lasting
// reason, each call within an attempt's bound. Each failure is logged, at
// Info, with what the hub is waiting for.
func ensure[T any](ctx context.Context, js jetstream.JetStream, log *slog.Logger, what string, make func(context.Context) (T, error)) (T, error) {
	wait, limit := backoffFirst, attemptFirst
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, limit)
		v, err := make(actx)
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info("ready", "what", what, "attempts", attempt)
			}
			return v, nil
		}
		if lasting(err) {
			return v, fmt.Errorf("%w: %s: %w", ErrSetup, what, err)
		}
		if ctx.Err() != nil {
			return v, fmt.Errorf("%s: %w (last: %w)", what, ctx.Err(), err)
		}
		if nc := js.Conn(); !nc.IsConnected() {
			log.Info("waiting for NATS", "what", what, "attempt", attempt, "nats", nc.Status().String(), "servers", nc.Servers())
		} else {
			log.Info("waiting for JetStream", "what", what, "attempt", attempt, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, fmt.Errorf("%s: %w (last: %w)", what, ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, backoffMax)
		if attempt >= shortAttempts {
			limit = min(limit+time.Second, attemptMax)
		}
	}
}

// lasting says whether err is one that trying again does not mend: a
// stream of the same name made otherwise (by hand, or by another program),
// or a configuration the servers refuse.
func lasting(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode {
	case jetstream.JSErrCodeStreamNameInUse, jetstream.JSErrCodeBadRequest, errCodeStreamInvalidConfig:
		return true
	}
	return false
}

// The ensure functions below look an asset up first and make or update it
// only when it is missing or differs: on a new cluster, an update (what
// CreateOrUpdateStream tries first) of a stream whose own leader is not yet
// elected goes unanswered, and with three replicas starting at once every
// attempt of every replica did, for seconds (TestReplicasStartTogether...).

// ensureStream binds the stream cfg describes, making it if it is missing
// and updating it if it differs in what cfg sets.
func ensureStream(ctx context.Context, js jetstream.JetStream, log *slog.Logger, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return ensure(ctx, js, log, "stream "+cfg.Name, func(ctx context.Context) (jetstream.Stream, error) {
		s, err := js.Stream(ctx, cfg.Name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			return js.CreateStream(ctx, cfg)
		case err != nil:
			return nil, err
		case sameStream(s.CachedInfo().Config, cfg):
			return s, nil
		}
		log.Info("updating stream", "stream", cfg.Name)
		return js.UpdateStream(ctx, cfg)
	})
}

// sameStream says whether have is want in what the hub sets.
func sameStream(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Storage == want.Storage &&
		have.Replicas == want.Replicas && have.MaxAge == want.MaxAge && have.Duplicates == want.Duplicates &&
		have.MaxMsgSize == want.MaxMsgSize
}

// ensureKeyValue binds the key-value bucket cfg describes, making it if it
// is missing and updating it if its replicas, history or TTL differ.
func ensureKeyValue(ctx context.Context, js jetstream.JetStream, log *slog.Logger, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return ensure(ctx, js, log, "bucket "+cfg.Bucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		kv, err := js.KeyValue(ctx, cfg.Bucket)
		switch {
		case errors.Is(err, jetstream.ErrBucketNotFound):
			return js.CreateKeyValue(ctx, cfg)
		case err != nil:
			return nil, err
		}
		st, err := kv.Status(ctx)
		if err != nil {
			return nil, err
		}
		if b, ok := st.(*jetstream.KeyValueBucketStatus); ok {
			have := b.StreamInfo().Config
			if have.Replicas == max(cfg.Replicas, 1) && have.MaxAge == cfg.TTL && int64(cfg.History) == have.MaxMsgsPerSubject {
				return kv, nil
			}
		}
		log.Info("updating bucket", "bucket", cfg.Bucket)
		return js.UpdateKeyValue(ctx, cfg)
	})
}

// ensureConsumer binds the durable consumer cfg describes on stream,
// making it if it is missing and updating it if it differs in what cfg
// sets.
func ensureConsumer(ctx context.Context, js jetstream.JetStream, log *slog.Logger, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return ensure(ctx, js, log, "consumer "+cfg.Durable, func(ctx context.Context) (jetstream.Consumer, error) {
		c, err := js.Consumer(ctx, stream, cfg.Durable)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			return js.CreateOrUpdateConsumer(ctx, stream, cfg)
		case err != nil:
			return nil, err
		}
		have := c.CachedInfo().Config
		if have.FilterSubject == cfg.FilterSubject && have.AckPolicy == cfg.AckPolicy && have.AckWait == cfg.AckWait &&
			have.DeliverPolicy == cfg.DeliverPolicy && have.MemoryStorage == cfg.MemoryStorage {
			return c, nil
		}
		log.Info("updating consumer", "consumer", cfg.Durable)
		return js.CreateOrUpdateConsumer(ctx, stream, cfg)
	})
}

// ensureObjects binds the object store bucket cfg describes, making it if
// it is missing.
func ensureObjects(ctx context.Context, js jetstream.JetStream, log *slog.Logger, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	return ensure(ctx, js, log, "object store "+cfg.Bucket, func(ctx context.Context) (jetstream.ObjectStore, error) {
		obs, err := js.ObjectStore(ctx, cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return js.CreateObjectStore(ctx, cfg)
		}
		return obs, err
	})
}
