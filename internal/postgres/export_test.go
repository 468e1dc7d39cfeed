package postgres

// Unavailable is the engine's classification, for the external tests.
func Unavailable(err error) bool { return (&engine{}).Unavailable(err) }

// The queue's statements and the plan settings they run under, for the
// external tests.
var (
	ClaimSQL   = claimSQL
	RecordSQL  = recordSQL
	QueuePlans = queuePlans
)
