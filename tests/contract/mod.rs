//! The contract suite: every rule of SPEC section 2, written against the `Directory` trait
//! only, so that every backend runs the same tests. A backend joins by adding a module to
//! `contract!` with the constructor of its harness.

mod audit_settings;
mod auth;
mod keys;
mod moved;
mod permissions;
mod provider;
mod roles_groups;
mod second_factor;
mod secrets;
mod users;

macro_rules! contract {
    ($backend:ident => $harness:expr; $($module:ident :: $name:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $name() {
                    let harness = $harness;
                    super::$module::$name(&harness);
                }
            )+
        }
    };
}

macro_rules! every_backend {
    ($($module:ident :: $name:ident),+ $(,)?) => {
        contract!(sqlite => crate::common::Harness::sqlite(); $($module::$name),+);
        contract!(postgres => crate::common::Harness::postgres(); $($module::$name),+);
        #[cfg(feature = "server")]
        contract!(remote => crate::common::Harness::remote(); $($module::$name),+);
        #[cfg(feature = "server")]
        contract!(remote_postgres => crate::common::Harness::remote_postgres(); $($module::$name),+);
    };
}

every_backend!(
    users::a_new_directory_needs_setup_until_the_first_admin_exists,
    users::the_first_admin_is_created_once_and_can_sign_in,
    users::bad_input_names_every_field_and_changes_nothing,
    users::user_names_and_emails_are_unique_regardless_of_case,
    users::a_user_without_password_is_invited_with_a_one_time_link,
    users::a_new_invitation_replaces_the_old_link,
    users::an_invitation_expires_after_seven_days,
    users::every_change_increments_update_version,
    users::a_stale_update_version_is_a_conflict_and_changes_nothing,
    users::deactivation_ends_sessions_and_stops_keys,
    users::deleting_a_user_removes_keys_and_sessions_but_not_history,
    users::the_last_active_super_admin_cannot_be_removed,
    users::administrator_cannot_touch_super_admin,
    users::external_users_have_no_password_and_fixed_roles,
    users::users_are_searched_filtered_sorted_and_paged,
    users::paging_and_sorting_input_is_validated,
    users::a_service_account_may_be_active_without_password_only_if_it_cannot_sign_in,
    users::passwordless_users_can_be_reactivated_or_invited_again,
    users::an_import_is_all_or_nothing_and_a_dry_run_changes_nothing,
    auth::sign_in_failures_do_not_reveal_whether_a_user_exists,
    auth::repeated_failures_lock_sign_in_with_a_growing_delay,
    auth::parallel_attempts_cannot_slip_past_the_lockout,
    auth::api_users_and_deactivated_users_cannot_sign_in,
    auth::sessions_expire_and_end_on_sign_out,
    auth::change_password_reports_succeeded_and_errors,
    auth::password_reset_is_one_time_expires_and_ends_sessions,
    auth::password_policy_applies_everywhere_a_password_is_set,
    auth::an_api_key_authenticates_as_its_owner,
    roles_groups::builtin_roles_match_the_spec_and_are_read_only,
    roles_groups::custom_roles_are_created_versioned_and_deleted,
    roles_groups::nobody_grants_a_permission_they_do_not_hold,
    roles_groups::group_members_hold_the_groups_roles,
    roles_groups::groups_are_versioned_and_names_unique,
    keys::a_key_for_oneself_is_enabled_and_its_secret_shown_once,
    keys::a_key_for_someone_else_is_pending_until_its_owner_downloads_it,
    keys::an_admin_downloads_only_for_accounts_that_cannot_sign_in,
    keys::a_revoked_key_no_longer_verifies,
    keys::regenerating_keeps_the_old_secret_for_the_grace_period,
    keys::keys_expire,
    keys::verification_codes_cover_every_refusal,
    keys::last_used_time_is_recorded_at_most_once_a_minute,
    keys::settings_can_cap_key_lifetimes,
    keys::key_names_are_unique_per_owner_and_validated,
    keys::keys_are_listed_for_those_allowed,
    permissions::every_builtin_role_can_do_exactly_what_its_permissions_say,
    audit_settings::every_change_and_every_denial_is_audited,
    audit_settings::the_audit_log_is_filtered_and_paged,
    audit_settings::settings_are_validated_versioned_and_need_manage_settings,
    secrets::no_secret_appears_in_audit_errors_or_listings,
    moved::signing_out_with_an_api_key_needs_a_valid_key,
    moved::one_code_redeems_an_invitation_or_a_reset_whichever_it_is,
    moved::one_changes_ones_own_password_without_naming_oneself,
    moved::visible_keys_are_everyones_with_view_keys_and_else_ones_own,
    moved::a_user_is_found_by_id_or_exact_user_name_among_many_similar_ones,
    moved::authorize_answers_as_the_operation_would_before_its_input,
    moved::a_membership_change_is_one_change_to_each_group_it_touches,
    moved::a_test_message_needs_manage_settings_and_e_mail_configured,
    second_factor::a_second_step_is_set_up_confirmed_and_asked_at_every_sign_in,
    second_factor::wrong_codes_count_towards_the_sign_in_lockout,
    second_factor::a_code_is_accepted_once_by_every_instance_of_the_directory,
    second_factor::the_setting_requires_a_second_step_set_up_at_sign_in,
    second_factor::recovery_codes_are_replaced_and_the_second_step_turned_off_with_a_code,
    second_factor::an_administrator_removes_a_lost_second_step,
    provider::the_group_mapping_is_a_setting_that_grants_what_membership_grants,
);

// Only a server speaks to an identity provider: these steps run on the stores it runs on.
contract!(sqlite_only => crate::common::Harness::sqlite();
    provider::a_provider_sign_in_links_once_sets_the_mapped_groups_and_opens_a_session,
    provider::a_provider_sign_in_refuses_what_it_must_and_audits_it);
contract!(postgres_only => crate::common::Harness::postgres();
    provider::a_provider_sign_in_links_once_sets_the_mapped_groups_and_opens_a_session,
    provider::a_provider_sign_in_refuses_what_it_must_and_audits_it);
