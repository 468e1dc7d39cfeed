package service

import (
	"strconv"

	"github.com/hookshot/hookshot"
)

// Who may do what (SPEC §9), in one place. Every method that acts for a
// caller asks one of these first, before it reads or changes anything, and
// answers with its error; the API, the portal and the CLI show that error
// as it is.
//
// Study-scoped methods answer ENotFound for a study the caller may not see
// at all, so that other studies cannot be probed, and EForbidden when the
// caller sees the study but in another role. Account, token and audit
// methods are not scoped by study, so there is nothing to hide: anyone but
// an admin gets EForbidden.

// mayManage is nil when p may manage the study's webhooks and see their
// deliveries.
func mayManage(p *hookshot.Principal, studyID int64) error {
	switch {
	case p.CanManage(studyID):
		return nil
	case p.CanSee(studyID):
		return hookshot.Errorf(hookshot.EForbidden, "You may publish events for study %d but not manage its webhooks.", studyID)
	}
	return hookshot.Errorf(hookshot.ENotFound, "Study %d does not exist, or you may not see it.", studyID)
}

// mayPublish is nil when p may publish events for the study.
func mayPublish(p *hookshot.Principal, studyID int64) error {
	switch {
	case p.CanPublish(studyID):
		return nil
	case p.CanSee(studyID):
		return hookshot.Errorf(hookshot.EForbidden, "You manage study %d's webhooks but may not publish events for it; that takes a publisher token.", studyID)
	}
	// Quoted, as the API has always said it for a study id it could not
	// parse.
	return hookshot.Errorf(hookshot.ENotFound, "Study %q does not exist, or you may not see it.", strconv.FormatInt(studyID, 10))
}

// mayAdminister is nil when p is an admin, who alone manages accounts and
// tokens and reads the audit trail.
func mayAdminister(p *hookshot.Principal) error {
	if p != nil && p.Admin {
		return nil
	}
	return hookshot.Errorf(hookshot.EForbidden, "Only administrators may manage accounts and tokens or read the audit trail.")
}

// mayReadEvents is nil when p may list and read the study's events: its
// managers, who follow them to their deliveries, and its publishers, who
// check what they published.
func mayReadEvents(p *hookshot.Principal, studyID int64) error {
	if p.CanSee(studyID) {
		return nil
	}
	return hookshot.Errorf(hookshot.ENotFound, "Study %d does not exist, or you may not see it.", studyID)
}
