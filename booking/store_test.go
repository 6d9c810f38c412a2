package booking_test

import (
	"testing"

	"teleconsole/booking"
	"teleconsole/booking/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) booking.Store { return booking.NewMemoryStore() })
}
