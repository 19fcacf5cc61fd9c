//! Join rules: public, invite, knock and attested (assurance minimum, denied attesters).
//! specs/rooms.md §2.1.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

#[path = "support/room.rs"]
mod support;

use causerie_crypto::event::kinds;
use causerie_crypto::{Assurance, Event, NodeSecret};
use causerie_room::{JoinRule, JoinRules, Membership};
use support::*;

fn rejected_with(
    view: &mut View,
    user: &User,
    target: &User,
    membership: Membership,
) -> Option<(&'static str, &'static str)> {
    let (event, receipt) =
        view.try_send(user, kinds::MEMBER, Some(&target.hex()), member(membership));
    rejection(&receipt, &event)
}

/// `user` asks to set their own membership to `membership`; the rejection, if refused.
fn own_refused(
    view: &mut View,
    user: &User,
    membership: Membership,
) -> Option<(&'static str, &'static str)> {
    rejected_with(view, user, user, membership)
}

/// Attested join rules: at least `min_assurance`, attestations by none of `denied`'s keys, and
/// (when `allowed` is not empty) only by `allowed`'s.
fn attested(
    min_assurance: Assurance,
    denied: &[&NodeSecret],
    allowed: &[&NodeSecret],
) -> JoinRules {
    JoinRules {
        rule: JoinRule::Attested,
        min_assurance,
        denied_attesters: denied.iter().map(|node| node.public()).collect(),
        allowed_attesters: allowed.iter().map(|node| node.public()).collect(),
    }
}

/// `by` sets the room's join rules.
fn set_join_rules(view: &mut View, by: &User, rules: &JoinRules) -> Event {
    view.send(by, kinds::JOIN_RULES, Some(""), rules.to_content())
}

/// `by` sets the room's join rule to `rule`, with no assurance or attester condition.
fn set_join_rule(view: &mut View, by: &User, rule: JoinRule) {
    let rules = JoinRules {
        rule,
        ..JoinRules::default()
    };
    set_join_rules(view, by, &rules);
}

/// `by` invites `user`, whose join is then accepted whatever the join rules ask.
fn invite_admits(view: &mut View, by: &User, user: &User) {
    view.set_member(by, user, Membership::Invite);
    assert_eq!(own_refused(view, user, Membership::Join), None);
}

#[test]
fn attested_rooms_admit_by_assurance_and_attester() {
    let evil = NodeSecret::from_seed(&[66; 32]);
    let alice = User::new(1);
    let contact = User::with(2, Assurance::Contact, &home());
    let identity = User::with(3, Assurance::Identity, &home());
    let denied = User::with(4, Assurance::InPerson, &evil);
    let (mut view, _) = View::create(&alice, &[&contact, &identity, &denied]);
    let rules = attested(Assurance::Identity, &[&evil], &[]);
    set_join_rules(&mut view, &alice, &rules);

    let not_enough = Some(("auth_failed_own", "attestation_not_accepted"));
    assert_eq!(
        own_refused(&mut view, &contact, Membership::Join),
        not_enough
    );
    assert_eq!(
        own_refused(&mut view, &denied, Membership::Join),
        not_enough
    );
    assert_eq!(own_refused(&mut view, &identity, Membership::Join), None);
    // An invitation overrides the attestation requirement.
    invite_admits(&mut view, &alice, &contact);
    assert_eq!(view.room.membership(&contact.key), Some(Membership::Join));
    assert_eq!(view.room.membership(&denied.key), None);
}

#[test]
fn an_attester_allowlist_admits_only_the_listed_home_nodes() {
    let trusted = NodeSecret::from_seed(&[71; 32]);
    let other = NodeSecret::from_seed(&[72; 32]);
    let alice = User::new(1);
    let listed = User::with(2, Assurance::Contact, &trusted);
    let unlisted = User::with(3, Assurance::InPerson, &other);
    let home_user = User::with(4, Assurance::Contact, &home());
    let (mut view, _) = View::create(&alice, &[&listed, &unlisted, &home_user]);
    let rules = attested(Assurance::Contact, &[], &[&trusted, &home()]);
    set_join_rules(&mut view, &alice, &rules);
    let refused = Some(("auth_failed_own", "attestation_not_accepted"));
    assert_eq!(own_refused(&mut view, &unlisted, Membership::Join), refused);
    assert_eq!(own_refused(&mut view, &listed, Membership::Join), None);
    // A node both allowed and denied is denied.
    let denied_too = JoinRules {
        denied_attesters: [home().public()].into_iter().collect(),
        ..rules
    };
    set_join_rules(&mut view, &alice, &denied_too);
    assert_eq!(
        own_refused(&mut view, &home_user, Membership::Join),
        refused
    );
    // An invitation still admits the unlisted user.
    invite_admits(&mut view, &alice, &unlisted);
    assert_eq!(view.room.membership(&listed.key), Some(Membership::Join));
    assert_eq!(view.room.membership(&home_user.key), None);
}

#[test]
fn a_redacted_join_rule_keeps_its_allowlist() {
    let trusted = NodeSecret::from_seed(&[73; 32]);
    let rules = attested(Assurance::Key, &[], &[&trusted]);
    let content = rules.to_content();
    let redacted = causerie_crypto::event::redact_content(kinds::JOIN_RULES, &content);
    assert_eq!(redacted, content);
    assert_eq!(JoinRules::parse(&redacted), Ok(rules));
}

#[test]
fn knock_then_invite_then_join() {
    let (alice, eve, frank) = (User::new(1), User::new(5), User::new(6));
    let (mut view, _) = View::create(&alice, &[&eve, &frank]);
    set_join_rule(&mut view, &alice, JoinRule::Knock);

    assert_eq!(
        own_refused(&mut view, &eve, Membership::Join),
        Some(("auth_failed_own", "join_not_allowed"))
    );
    assert_eq!(own_refused(&mut view, &eve, Membership::Knock), None);
    assert_eq!(view.room.membership(&eve.key), Some(Membership::Knock));
    // Someone else cannot knock for Eve, nor can Eve invite herself.
    assert_eq!(
        rejected_with(&mut view, &frank, &eve, Membership::Knock),
        Some(("auth_failed_own", "sender_not_target"))
    );
    assert_eq!(
        own_refused(&mut view, &eve, Membership::Invite),
        Some(("auth_failed_own", "not_a_member"))
    );
    invite_admits(&mut view, &alice, &eve);
    assert_eq!(view.room.membership(&eve.key), Some(Membership::Join));
    // Joined users cannot be invited again.
    assert_eq!(
        rejected_with(&mut view, &alice, &eve, Membership::Invite),
        Some(("auth_failed_own", "invalid_membership_change"))
    );

    // Invite-only rooms refuse knocks.
    set_join_rule(&mut view, &alice, JoinRule::Invite);
    for membership in [Membership::Knock, Membership::Join] {
        assert_eq!(
            own_refused(&mut view, &frank, membership),
            Some(("auth_failed_own", "join_not_allowed")),
            "{membership:?}"
        );
    }
}

#[test]
fn join_concurrent_with_closing_the_room_is_hidden() {
    let (alice, dave) = (User::new(1), User::new(5));
    let (base, _) = View::create(&alice, &[&dave]);
    let mut closing = base.clone();
    let close = set_join_rules(&mut closing, &alice, &JoinRules::default());
    let mut joining = base.clone();
    let join = joining.join(&dave);
    let said = joining.message(&dave, "hi");
    let mut merged = base.clone();
    merged.deliver(&[close, join.clone(), said.clone()]);
    // Dave's membership is conflicted (absent on the closing branch); against the resolved join
    // rules his join fails, so he is not a member, and his join and message are hidden.
    assert_eq!(merged.room.membership(&dave.key), None);
    assert!(merged.accepted(&join) && !merged.visible(&join));
    assert!(merged.accepted(&said) && !merged.visible(&said));
    // An invitation lets him in again, on top of the merged history.
    merged.set_member(&alice, &dave, Membership::Invite);
    merged.join(&dave);
    assert_eq!(merged.room.membership(&dave.key), Some(Membership::Join));
    // What he said while the join did not count stays hidden.
    assert!(!merged.visible(&said));
}
