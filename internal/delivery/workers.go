package delivery

import (
	"time"

	"github.com/hookshot/hookshot"
)

// Attempts run on a pool of long-lived workers rather than on a goroutine
// each. A fresh goroutine starts with a small stack and grows it, copying
// it each time, several times over through net/http's HTTP/2 client and
// TLS: at 1,000 deliveries/s that was a tenth of the process's CPU. A
// worker keeps the stack it grew for the next attempt.
//
// The pool holds no more workers than attempts may be in flight: a worker
// is started only when no idle one is waiting, and one that finishes its
// attempt frees its slot and counts itself idle in the same critical
// section, so busy workers are never more than the slots taken
// (Concurrency). Workers start when work comes and leave after idleWorker
// without any, so an idle engine holds none.

// idleWorker is how long a worker waits for an attempt before it leaves.
const idleWorker = 10 * time.Second

// startLocked runs j on an idle worker, or on a new one when none waits.
// j's slot is taken. e.mu must be held.
func (e *Engine) startLocked(j *hookshot.Job) {
	e.attempts.Add(1)
	if e.idleWorkers > 0 {
		select {
		case e.work <- j:
			e.idleWorkers--
			return
		default:
			// The channel holds as many jobs as the concurrency allows
			// workers; should a hand-off beyond the caps (see
			// Reservation.Start) ever fill it, a new worker is the way
			// out that never blocks under e.mu.
		}
	}
	e.workers++
	e.workerGroup.Add(1)
	go e.worker(j)
}

// worker makes attempts until it has waited idleFor without one, or Stop
// has begun and nothing is queued for it.
func (e *Engine) worker(j *hookshot.Job) {
	defer e.workerGroup.Done()
	idle := time.NewTimer(e.idleFor)
	defer idle.Stop()
	for {
		for j != nil {
			j = e.attempt(j)
		}
		if j = e.nextWork(idle); j == nil {
			return
		}
	}
}

// nextWork waits for the next job of an idle worker. It returns nil when
// the worker is to leave: it waited idleFor, or Stop has begun, and no job
// is on its way to it.
func (e *Engine) nextWork(idle *time.Timer) *hookshot.Job {
	idle.Reset(e.idleFor)
	select {
	case j := <-e.work:
		idle.Stop()
		return j
	case <-idle.C:
	case <-e.stopping:
		idle.Stop()
	}
	e.mu.Lock()
	if e.idleWorkers > 0 {
		// No job is queued for this worker: the jobs in the channel
		// are as many as the idle workers not counted any more.
		e.idleWorkers--
		e.workers--
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	// No idle worker is counted, this one included, so a job was queued
	// for it just as it stopped waiting.
	return <-e.work
}
