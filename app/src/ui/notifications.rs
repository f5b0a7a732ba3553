//! The notification feed (every role) and, for customers, the KakaoTalk settings.

use super::auth::Gate;
use super::layout::Loading;
use crate::api::{get_kakao_settings, my_notifications, MarkNotificationsRead, SaveKakaoSettings};
use crate::codec::{load, Loaded};
use crate::domain::{korea_date_time, KakaoSettings, NotificationId, NotificationItem, Role};
use crate::ui::head;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

fn link(role: Role, item: &NotificationItem) -> String {
    match (role, item.order_id) {
        (Role::Customer, Some(order_id)) => format!("/orders/{order_id}"),
        (role, _) => role.home().to_string(),
    }
}

/// The page, loaded lazily (`#[lazy_route]`) like every other: the main module holds only
/// what every page needs, so the owner's and the rider's first loads do not carry it.
pub struct NotificationsPage;

#[lazy_route]
impl LazyRoute for NotificationsPage {
    fn data() -> Self {
        NotificationsPage
    }

    fn view(_page: Self) -> AnyView {
        notifications_page().into_any()
    }
}

fn notifications_page() -> impl IntoView {
    let gate = Gate::signed_in();
    let live = gate.live;
    let mark = ServerAction::<MarkNotificationsRead>::new();
    // Reading changes the bell too: re-read everything the page shows.
    Effect::new(move |_| {
        if let Some(Ok(_)) = mark.value().get() {
            live.changes.update(|c| *c += 1);
        }
    });
    let feed = load(
        move || live.changes.get(),
        move |_| async move {
            gate.allowed()?;
            my_notifications().await
        },
    );
    // Opening the feed reads it: in the browser, once the page has its first list, everything
    // up to the newest item shown is marked read — never one that arrived after the list was
    // read, nor one that arrives while the page stays open (that one stays unread for the bell
    // until the page is opened again or 모두 읽음으로 표시 is pressed). Effects run only in the
    // browser. What was unread when the page opened stays marked new on this visit.
    let opened = StoredValue::new(false);
    let new_on_this_visit = StoredValue::new(Vec::<NotificationId>::new());
    Effect::new(move |_| {
        if opened.get_value() {
            return;
        }
        let shown = feed.with(|feed| {
            let items = &feed.as_ref()?.as_ref().ok()?.items;
            let unread: Vec<NotificationId> =
                items.iter().filter(|n| !n.read).map(|n| n.id).collect();
            Some((items.first().map(|n| n.id), unread))
        });
        let Some((newest, unread)) = shown else {
            return; // not read yet
        };
        opened.set_value(true);
        if let (Some(newest), false) = (newest, unread.is_empty()) {
            new_on_this_visit.set_value(unread);
            mark.dispatch(MarkNotificationsRead { up_to_id: newest });
        }
    });
    // Only customers have KakaoTalk settings; other roles never ask for them.
    let save = ServerAction::<SaveKakaoSettings>::new();
    let kakao = load(
        move || save.version().get(),
        move |_| async move {
            if gate.allowed()?.role != Role::Customer {
                return Ok(None);
            }
            get_kakao_settings().await.map(Some)
        },
    );
    gate.render(move |user| {
        let role = user.role;
        view! {
            {head::title("알림")}
            <section class="page-head">
                <h1>"알림"</h1>
            </section>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    feed.await.map(|feed| {
                        let newest = feed.items.first().map(|n| n.id).unwrap_or(NotificationId(0));
                        view! {
                            <p class="muted" data-testid="unread-line">
                                {format!("읽지 않은 알림 {}건", feed.unread)} " "
                                {(feed.unread > 0).then(|| view! {
                                    <button class="link-button" on:click=move |_| { mark.dispatch(MarkNotificationsRead { up_to_id: newest }); }>
                                        "모두 읽음으로 표시"
                                    </button>
                                })}
                            </p>
                            {if feed.items.is_empty() {
                                view! { <p class="empty">"아직 알림이 없습니다."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="card-list" data-testid="notification-list">
                                        {feed.items.into_iter().map(|item| {
                                            let new = !item.read || new_on_this_visit.with_value(|ids| ids.contains(&item.id));
                                            view! {
                                                <li class="card notification" class:unread=new data-testid="notification">
                                                    <a class="card-link" href=link(role, &item)>
                                                        <div class="card-title">
                                                            <strong>{item.title.clone()}</strong>
                                                            <span class="muted small">{korea_date_time(item.at_ms)}</span>
                                                        </div>
                                                        <p>{item.body.clone()}</p>
                                                    </a>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        }
                    })
                })}
            </Transition>
            {(role == Role::Customer).then(|| view! { <KakaoPanel save settings=kakao /> })}
        }
        .into_any()
    })
}

/// KakaoTalk (알림톡) on or off, and the number it goes to.
#[component]
fn KakaoPanel(
    save: ServerAction<SaveKakaoSettings>,
    settings: Loaded<Option<KakaoSettings>>,
) -> impl IntoView {
    let phone = RwSignal::new(String::new());
    let enabled = RwSignal::new(true);
    view! {
        <section class="panel form" data-testid="kakao-settings">
            <h2>"카카오톡 알림"</h2>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    settings.await.map(|current| current.map(|current| {
                        enabled.set(current.enabled);
                        // With the channel off nothing is sent, whatever the customer chose: the
                        // box shows that (unticked, disabled) and their choice is kept for when
                        // the channel is on.
                        let channel_on = current.channel_on;
                        view! {
                            <p class="muted small">
                                {match &current.phone_masked {
                                    Some(masked) => format!("받는 번호: {masked}"),
                                    None => "등록된 휴대폰 번호가 없습니다.".to_string(),
                                }}
                            </p>
                            <label class="check" class:off=!channel_on>
                                <input
                                    type="checkbox"
                                    data-testid="kakao-enabled"
                                    disabled=!channel_on
                                    checked=channel_on && current.enabled
                                    prop:checked=move || channel_on && enabled.get()
                                    on:change=move |ev| enabled.set(event_target_checked(&ev))
                                />
                                " 주문 상태를 카카오톡으로 받기"
                            </label>
                            {(!channel_on).then(|| view! {
                                <p class="muted small" data-testid="kakao-off">
                                    "지금은 카카오톡 발송이 설정되어 있지 않아 앱 알림만 보냅니다."
                                </p>
                            })}
                        }
                    }))
                })}
            </Transition>
            <label>
                "휴대폰 번호 (바꿀 때만)"
                <input type="tel" inputmode="numeric" placeholder="010-1234-5678" prop:value=move || phone.get() on:input=move |ev| phone.set(event_target_value(&ev)) />
            </label>
            {move || save.value().get().and_then(Result::err).map(|e| view! {
                <p class="field-error" role="alert">{e.field("phone").unwrap_or_else(|| e.to_string())}</p>
            })}
            <button class="button" disabled=move || save.pending().get() on:click=move |_| {
                save.dispatch(SaveKakaoSettings { phone: phone.get_untracked(), enabled: enabled.get_untracked() });
            }>"저장"</button>
            {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <p class="saved">"저장되었습니다."</p> })}
        </section>
    }
}
