package hookshot

import "slices"

// Role is what an account or token may do (SPEC §9).
type Role string

// The roles.
const (
	RoleAdmin     Role = "admin"
	RolePublisher Role = "publisher"
	RoleManager   Role = "webhooks_manager"
)

// Principal is who is calling: an admin, or an account holding grants.
type Principal struct {
	// Name identifies the caller in logs and the audit trail.
	Name string
	// AccountID is the caller's account, whose tokens it may manage
	// itself; 0 for callers without one (the operator's admin token, the
	// CLI).
	AccountID int64
	Admin     bool
	// PublishAll lets a publisher publish for every study; otherwise
	// Publish lists the studies it may publish for.
	PublishAll bool
	Publish    []int64
	// Manage lists the studies whose webhooks the caller manages.
	Manage []int64
}

// CanManage reports whether p may manage the study's webhooks and see
// their deliveries.
func (p *Principal) CanManage(studyID int64) bool {
	return p != nil && (p.Admin || slices.Contains(p.Manage, studyID))
}

// CanPublish reports whether p may publish events for the study.
func (p *Principal) CanPublish(studyID int64) bool {
	return p != nil && (p.Admin || p.PublishAll || slices.Contains(p.Publish, studyID))
}

// CanSee reports whether the study exists as far as p is concerned: p may
// do something with it. Other studies answer 404, not 403, so that callers
// cannot probe for them.
func (p *Principal) CanSee(studyID int64) bool {
	return p.CanManage(studyID) || p.CanPublish(studyID)
}
