package clock

import (
	"testing"
	"time"
)

// Both clocks give times as the stores keep them: UTC, whole microseconds,
// no monotonic reading (so == and Equal agree after a round trip).
func TestClocksReadAsTheStoresKeepTime(t *testing.T) {
	zone := time.FixedZone("UTC+2", 2*60*60)
	fake := NewFake(time.Date(2026, 12, 1, 10, 0, 0, 123456789, zone))
	cases := []struct {
		name  string
		clock Clock
	}{
		{"system", System{}},
		{"fake", fake},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := c.clock.Now()
			if now.Location() != time.UTC {
				t.Fatalf("location %s, want UTC", now.Location())
			}
			if now.Nanosecond()%1000 != 0 {
				t.Fatalf("%s has nanoseconds below the microsecond", now)
			}
			if now != now.Round(0) {
				t.Fatalf("%s carries a monotonic reading", now)
			}
		})
	}
}

func TestFakeMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f := NewFake(start)
	if got := f.Now(); !got.Equal(start) {
		t.Fatalf("Now %s, want %s", got, start)
	}
	if got := f.Advance(90 * time.Second); !got.Equal(start.Add(90*time.Second)) || !f.Now().Equal(got) {
		t.Fatalf("Advance gave %s, Now %s, want %s", got, f.Now(), start.Add(90*time.Second))
	}
	later := start.Add(24 * time.Hour)
	f.Set(later.Add(999 * time.Nanosecond))
	if got := f.Now(); got != later {
		t.Fatalf("after Set, Now %s, want %s", got, later)
	}
}
