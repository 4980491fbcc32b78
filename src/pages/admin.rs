//! `/admin` (operators only): find an account ("Users"), see one account
//! (`/admin/users/:id`) and help its person, and the audit log (`/admin/audit`). Works with
//! JavaScript off: the search is a GET form, every action a plain POST form that comes back
//! to the account's page. Operator status is checked by the server on every call; a
//! non-operator sees the refusal.

use crate::{
    api::{
        admin::{
            find_accounts, load_account, load_audit_log, DisableAccount, EnableAccount, OperatorSignOut, RemoveSecondFactor,
            SendResetLink,
        },
        security::whoami,
        with_refresh,
    },
    components::{
        layout::{encode, LoadError, SignedInHeader},
        time::When,
    },
    error::AppError,
    model::{AccountDetail, AccountSession, AccountSummary, AuditEntry},
};
use leptos::{
    prelude::*,
    server::ServerActionError,
    server_fn::{error::ServerFnUrlError, ServerFn as _},
};
use crate::components::erase::Erase as _;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/admin`: "Users" — search by the start of an address or a name.
#[component]
pub fn AdminPage() -> impl IntoView {
    let query = use_query_map();
    let me = Resource::new(|| (), |_| async move { with_refresh(whoami).await });
    let results = Resource::new(
        move || (query.read().get("q"), query.read().get("after")),
        |(q, after)| async move { with_refresh(|| find_accounts(q.clone(), after.clone())).await },
    );
    view! {
        <Title text="Users — Gatehouse" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (me.await, results.await) {
                    (Err(e), _) | (_, Err(e)) => view! { <LoadError error=e heading="Users" /> }.erase(),
                    (Ok(me), Ok(found)) => {
                        let q = query.read_untracked().get("q").unwrap_or_default();
                        let next = found
                            .next_after
                            .clone()
                            .map(|after| format!("/admin?q={}&after={}", encode(&q), encode(&after)));
                        let empty = found.users.is_empty();
                        view! {
                            <SignedInHeader display_name=me.display_name.clone() unverified_email=me.unverified_email() />
                            <main id="main">
                                <h1>"Users"</h1>
                                <p class="lead">"Find a person by the start of their email address or name."</p>
                                <form method="get" action="/admin" class="search" role="search">
                                    <label for="q">"Email or name"</label>
                                    <input id="q" name="q" type="search" value=q.clone() maxlength="320" autocomplete="off" />
                                    <button type="submit">"Search"</button>
                                </form>
                                <p><a href="/admin/audit">"Audit log"</a></p>
                                {if empty {
                                    view! { <p class="empty-state">"No account matches."</p> }.erase()
                                } else {
                                    view! {
                                        <ul class="accounts" aria-label="Accounts">
                                            {found.users.into_iter().map(|u| view! { <AccountRow account=u /> }).collect_view()}
                                        </ul>
                                    }
                                        .erase()
                                }}
                                {next.map(|href| view! {
                                    <nav class="pages" aria-label="More accounts"><a href=href rel="next">"Next page"</a></nav>
                                })}
                            </main>
                        }
                            .erase()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountRow(account: AccountSummary) -> impl IntoView {
    let href = format!("/admin/users/{}", encode(&account.id));
    view! {
        <li class="account">
            <a href=href>
                <strong>{account.display_name.clone()}</strong>
                " "
                <span class="email">{account.email.clone()}</span>
            </a>
            {account.disabled.then(|| view! { <span class="badge danger">"Disabled"</span> })}
            {account.operator.then(|| view! { <span class="badge">"Operator"</span> })}
        </li>
    }
}

/// What a no-JS action's `?done=` says.
fn done_text(done: &str) -> Option<&'static str> {
    Some(match done {
        "signed-out" => "Signed out.",
        "disabled" => "The account is disabled; every session has ended.",
        "enabled" => "The account is enabled.",
        "reset-sent" => "A link to set a new password is on its way.",
        "two-step-removed" => "Two-step verification was removed; a new password is needed at the next sign-in.",
        _ => return None,
    })
}

/// `/admin/users/:id`: one account, and what an operator can do for its person. All the
/// server's: each action is a plain form, JavaScript or not, and the server sends the browser
/// back here with `?done=` (see `api::admin`). No island: nothing here needs the browser.
#[component]
pub fn AdminUserPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    // What the last action did (`?done=`), or why it was refused (the URL's error).
    let outcome = query
        .read_untracked()
        .get("done")
        .and_then(|done| done_text(&done))
        .map(str::to_owned)
        .or_else(|| {
            // "Confirm it's you" is the panel's to say (see `step_up`).
            use_context::<ServerActionError>()
                .map(|e| ServerFnUrlError::<AppError>::decode_err(e.err()))
                .filter(|e| !matches!(e, AppError::ReauthenticationRequired { .. }))
                .map(|e| e.to_string())
        });
    let me = Resource::new(|| (), |_| async move { with_refresh(whoami).await });
    let data = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        |id| async move { with_refresh(|| load_account(id.clone())).await },
    );
    view! {
        <Title text="User — Gatehouse" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let outcome = outcome.clone();
                Suspend::new(async move {
                    match (me.await, data.await) {
                        (Err(e), _) | (_, Err(e)) => view! { <LoadError error=e heading="User" /> }.erase(),
                        (Ok(me), Ok(detail)) => view! {
                            <SignedInHeader display_name=me.display_name.clone() unverified_email=me.unverified_email() />
                            <AccountView detail outcome />
                        }
                            .erase(),
                    }
                })
            }}
        </Suspense>
    }
}

/// What an operator can do to an account (each its own server function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    SignOut,
    Disable,
    Enable,
    SendReset,
    RemoveSecondFactor,
}

/// One action's button, a plain form: the account `id`, for `Op::SignOut` the one
/// `session_id` (else every session), the button's words, class and accessible name. The
/// server answers with this page and `?done=` (or the refusal in the URL).
#[component]
fn OperatorAction(op: Op, id: String, session_id: Option<String>, text: String, class: String, label: Option<String>) -> impl IntoView {
    let (url, pending) = match op {
        Op::SignOut => (OperatorSignOut::url(), "Signing out…"),
        Op::Disable => (DisableAccount::url(), "Disabling…"),
        Op::Enable => (EnableAccount::url(), "Enabling…"),
        Op::SendReset => (SendResetLink::url(), "Sending…"),
        Op::RemoveSecondFactor => (RemoveSecondFactor::url(), "Removing…"),
    };
    // Every operator action needs a recent sign-in: with JavaScript, the page asks "Confirm
    // it's you" first when it is due, then sends the form (`plain_forms`).
    view! {
        <form action=url method="post" class="inline" data-step-up="">
            <input type="hidden" name="id" value=id />
            {session_id.map(|session_id| view! { <input type="hidden" name="session_id" value=session_id /> })}
            <button type="submit" class=(!class.is_empty()).then_some(class) aria-label=label data-pending=pending>{text}</button>
        </form>
    }
}

#[component]
fn AccountView(detail: AccountDetail, outcome: Option<String>) -> impl IntoView {
    let user = detail.user.clone();
    let id = user.id.clone();
    let (id_enable, id_disable, id_reset, id_remove, id_all) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
    let sessions = detail.sessions.clone();
    let session_count = sessions.len();
    view! {
        <main id="main">
            <p><a href="/admin">"Users"</a></p>
            <h1>{user.display_name.clone()}</h1>
            <p class="status" role="status">{outcome}</p>
            <dl class="facts">
                <dt>"Email"</dt>
                <dd class="email">{user.email.clone()}</dd>
                <dt>"Email verified"</dt>
                <dd>{if user.email_verified { "Yes" } else { "No" }}</dd>
                <dt>"Account"</dt>
                <dd class="account-state">{if user.disabled { "Disabled" } else { "Enabled" }}</dd>
                <dt>"Operator"</dt>
                <dd>{if user.operator { "Yes" } else { "No" }}</dd>
                <dt>"Created"</dt>
                <dd>{crate::time::exact(&user.created_at)}</dd>
                <dt>"Two-step verification"</dt>
                <dd>
                    {if detail.factors.authenticator {
                        format!("On (authenticator app; {} recovery codes left)", detail.factors.recovery_codes_left)
                    } else {
                        "Off".to_owned()
                    }}
                </dd>
                {detail.password_reset_required.then(|| view! {
                    <dt>"Next sign-in"</dt>
                    <dd>"Must set a new password first"</dd>
                })}
            </dl>

            <section aria-labelledby="actions-heading">
                <h2 id="actions-heading">"Actions"</h2>
                <div class="actions">
                    {if user.disabled {
                        view! { <OperatorAction op=Op::Enable id=id_enable session_id=None text="Enable account".into() class=String::new() label=None /> }
                    } else {
                        view! { <OperatorAction op=Op::Disable id=id_disable session_id=None text="Disable account".into() class="danger".into() label=None /> }
                    }}
                    {(!user.disabled).then(|| view! {
                        <OperatorAction op=Op::SendReset id=id_reset.clone() session_id=None text="Send password reset link".into() class="secondary".into() label=None />
                    })}
                    {detail.factors.authenticator.then(|| view! {
                        <OperatorAction op=Op::RemoveSecondFactor id=id_remove.clone() session_id=None text="Remove two-step verification".into() class="danger".into() label=None />
                    })}
                </div>
            </section>

            <section aria-labelledby="sessions-heading">
                <h2 id="sessions-heading">"Sessions"</h2>
                {if session_count == 0 {
                    view! { <p class="empty-state">"Not signed in anywhere."</p> }.erase()
                } else {
                    view! {
                        <OperatorAction op=Op::SignOut id=id_all session_id=None text="Sign out all sessions".into() class="danger".into() label=None />
                        <ul class="devices">
                            {sessions.into_iter().map(|s| view! { <SessionRow session=s account=id.clone() /> }).collect_view()}
                        </ul>
                    }
                        .erase()
                }}
            </section>

            <section aria-labelledby="events-heading">
                <h2 id="events-heading">"Security activity"</h2>
                <ul class="events">
                    {detail.events.into_iter().map(|e| view! {
                        <li><span class="event-text">{e.text}</span> " " <When at=e.at ago=e.ago /></li>
                    }).collect_view()}
                </ul>
            </section>

            <section aria-labelledby="audit-heading">
                <h2 id="audit-heading">"Operator actions"</h2>
                <AuditList entries=detail.actions />
            </section>
        </main>
    }
}

#[component]
fn SessionRow(session: AccountSession, account: String) -> impl IntoView {
    let label = format!("Sign out {}", session.device);
    view! {
        <li class="device">
            <div class="device-head"><h3 class="device-name">{session.device.clone()}</h3></div>
            <dl class="facts">
                <dt>"Browser"</dt>
                <dd>{session.browser.clone()}</dd>
                <dt>"Operating system"</dt>
                <dd>{session.os.clone()}</dd>
                <dt>"IP address"</dt>
                <dd>{if session.ip.is_empty() { "unknown".to_owned() } else { session.ip.clone() }}</dd>
                <dt>"Signed in"</dt>
                <dd><When at=session.signed_in_at.clone() ago=session.signed_in_ago.clone() /></dd>
                <dt>"Signed in with"</dt>
                <dd>{session.signed_in_with.clone()}</dd>
                <dt>"Last active"</dt>
                <dd><When at=session.last_active_at.clone() ago=session.last_active_ago.clone() /></dd>
            </dl>
            <OperatorAction op=Op::SignOut id=account session_id=Some(session.id.clone()) text="Sign out".into() class="danger".into() label=Some(label) />
        </li>
    }
}

#[component]
fn AuditList(entries: Vec<AuditEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="empty-state">"Nothing yet."</p> }.erase();
    }
    view! {
        <table class="audit">
            <thead><tr><th scope="col">"When"</th><th scope="col">"Operator"</th><th scope="col">"Action"</th><th scope="col">"Account"</th></tr></thead>
            <tbody>
                {entries.into_iter().map(|e| {
                    let href = format!("/admin/users/{}", encode(&e.target_id));
                    view! {
                        <tr>
                            <td><When at=e.at ago=e.ago /></td>
                            <td>{e.operator_email}</td>
                            <td>{e.text}</td>
                            <td><a href=href>{e.target_email}</a></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .erase()
}

/// `/admin/audit`: every operator action, newest first.
#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let query = use_query_map();
    let me = Resource::new(|| (), |_| async move { with_refresh(whoami).await });
    let log = Resource::new(move || query.read().get("before"), |before| async move { with_refresh(|| load_audit_log(before.clone())).await });
    view! {
        <Title text="Audit log — Gatehouse" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (me.await, log.await) {
                    (Err(e), _) | (_, Err(e)) => view! { <LoadError error=e heading="Audit log" /> }.erase(),
                    (Ok(me), Ok(log)) => {
                        let next = log.next_before.clone().map(|b| format!("/admin/audit?before={}", encode(&b)));
                        view! {
                            <SignedInHeader display_name=me.display_name.clone() unverified_email=me.unverified_email() />
                            <main id="main">
                                <p><a href="/admin">"Users"</a></p>
                                <h1>"Audit log"</h1>
                                <p class="lead">"Every action an operator took, newest first."</p>
                                <AuditList entries=log.entries />
                                {next.map(|href| view! { <nav class="pages" aria-label="Older entries"><a href=href rel="next">"Older entries"</a></nav> })}
                            </main>
                        }
                            .erase()
                    }
                }
            })}
        </Suspense>
    }
}
