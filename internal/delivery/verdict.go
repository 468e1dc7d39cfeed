package delivery

import (
	"time"

	"github.com/hookshot/hookshot"
)

// verdict is the sender's judgement of one attempt: what is to happen to
// the delivery next. The sender says what the receiver's answer means; the
// engine alone turns that into a status and a time (resultFor), by the
// retry schedule and the attempts left.
type verdict struct {
	next next
	// wait is how long the receiver asked to be left alone (retryAfter).
	wait time.Duration
	// class sorts the attempt's result for the metrics and the traces.
	class class
}

// as is v with the attempt's result sorted into c.
func (v verdict) as(c class) verdict {
	v.class = c
	return v
}

// next is what a verdict asks for.
type next int

const (
	// retry by the schedule while attempts are left; then the delivery
	// fails. The zero value, so a verdict never decided is never a success.
	retry next = iota
	// succeeded: the receiver took the delivery.
	succeeded
	// retryNow: the attempt failed for a reason of ours that is already
	// mended (a cached OAuth2 token the receiver refused, now forgotten):
	// attempt again at once, without spending a scheduled retry.
	retryNow
	// retryAfter: as retry, but no earlier than the receiver asked (429 or
	// 503 with Retry-After, SPEC §14), at most maxRetryAfter from now; it
	// still spends an attempt.
	retryAfter
	// giveUp: fail the delivery now, whatever attempts are left (a
	// receiver that answered the validation handshake wrongly).
	giveUp
	// disable: the receiver wants nothing more from this webhook (410 Gone,
	// SPEC §14). The delivery fails as with giveUp, and the result asks
	// the store to disable the webhook (Result.Gone). An engine told not
	// to disable on 410 judges it retry instead.
	disable
)

// maxRetryAfter caps how far a receiver's Retry-After may push the next
// attempt (SPEC §14).
const maxRetryAfter = 24 * time.Hour

// String is the verdict's name as logged.
func (n next) String() string {
	switch n {
	case retry:
		return "retry"
	case succeeded:
		return "succeeded"
	case retryNow:
		return "retry_now"
	case retryAfter:
		return "retry_after"
	case giveUp:
		return "give_up"
	case disable:
		return "disable"
	}
	return "unknown"
}

// resultFor is the delivery's new state after attempt att, judged v, at
// now: schedule holds the waits between attempts (SPEC §6), and
// d.MaxAttempts bounds them.
func resultFor(d *hookshot.Delivery, att *hookshot.Attempt, v verdict, schedule []time.Duration, now time.Time) *hookshot.Result {
	r := &hookshot.Result{
		Attempt:       att,
		WebhookID:     d.WebhookID,
		Event:         d.Event,
		Gone:          v.next == disable,
		Status:        hookshot.DeliveryFailed,
		MaxAttempts:   d.MaxAttempts,
		NextAttemptAt: now,
	}
	n := att.Number
	switch v.next {
	case succeeded:
		r.Status = hookshot.DeliverySucceeded
	case retryNow:
		r.Status = hookshot.DeliveryInProgress
		r.MaxAttempts++
	case retry, retryAfter:
		if n >= d.MaxAttempts || len(schedule) == 0 {
			break
		}
		wait := schedule[min(n-1, len(schedule)-1)]
		if v.next == retryAfter {
			wait = max(wait, min(v.wait, maxRetryAfter))
		}
		r.Status = hookshot.DeliveryInProgress
		r.NextAttemptAt = now.Add(wait)
	case giveUp, disable:
	}
	if d.Event == hookshot.EventValidation && r.Status != hookshot.DeliveryInProgress {
		valid := hookshot.ValidationFailed
		if r.Status == hookshot.DeliverySucceeded {
			valid = hookshot.ValidationPassed
		}
		r.Validation = &valid
	}
	return r
}
