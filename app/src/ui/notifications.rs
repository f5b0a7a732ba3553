//! The notification feed (every role) and, for customers, the KakaoTalk settings.

use super::auth::signed_in_page;
use super::layout::Loading;
use super::live::use_live;
use crate::api::{get_kakao_settings, my_notifications, MarkNotificationsRead, SaveKakaoSettings};
use crate::domain::{NotificationItem, Role};
use leptos::prelude::*;
use leptos_meta::Title;

/// "11/25 14:05" in Korea time.
fn when(at_ms: i64) -> String {
    let minutes = at_ms.div_euclid(60_000) + 9 * 60;
    let days = minutes.div_euclid(24 * 60);
    let (_, month, day) = civil_from_days(days);
    let minute_of_day = minutes.rem_euclid(24 * 60);
    format!(
        "{month}/{day} {:02}:{:02}",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn link(role: Role, item: &NotificationItem) -> String {
    match (role, item.order_id) {
        (Role::Customer, Some(order_id)) => format!("/orders/{order_id}"),
        (role, _) => role.home().to_string(),
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    signed_in_page(|user| {
        let live = use_live();
        let mark = ServerAction::<MarkNotificationsRead>::new();
        // Reading changes the bell too: re-read everything the page shows.
        Effect::new(move |_| {
            if let Some(Ok(_)) = mark.value().get() {
                live.changes.update(|c| *c += 1);
            }
        });
        let feed = Resource::new(move || live.changes.get(), |_| my_notifications());
        let role = user.role;
        view! {
            <Title text="알림" />
            <section class="page-head">
                <h1>"알림"</h1>
            </section>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    feed.await.map(|feed| {
                        let newest = feed.items.first().map(|n| n.id).unwrap_or(0);
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
                                        {feed.items.into_iter().map(|item| view! {
                                            <li class="card notification" class:unread=!item.read data-testid="notification">
                                                <a class="card-link" href=link(role, &item)>
                                                    <div class="card-title">
                                                        <strong>{item.title.clone()}</strong>
                                                        <span class="muted small">{when(item.at_ms)}</span>
                                                    </div>
                                                    <p>{item.body.clone()}</p>
                                                </a>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        }
                    })
                })}
            </Transition>
            {(role == Role::Customer).then(|| view! { <KakaoPanel /> })}
        }
        .into_any()
    })
}

/// KakaoTalk (알림톡) on or off, and the number it goes to.
#[component]
fn KakaoPanel() -> impl IntoView {
    let save = ServerAction::<SaveKakaoSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| get_kakao_settings());
    let phone = RwSignal::new(String::new());
    let enabled = RwSignal::new(true);
    view! {
        <section class="panel form" data-testid="kakao-settings">
            <h2>"카카오톡 알림"</h2>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    settings.await.map(|current| {
                        enabled.set(current.enabled);
                        view! {
                            <p class="muted small">
                                {match &current.phone_masked {
                                    Some(masked) => format!("받는 번호: {masked}"),
                                    None => "등록된 휴대폰 번호가 없습니다.".to_string(),
                                }}
                                {(!current.channel_on).then_some(" · 지금은 카카오톡 발송이 설정되어 있지 않아 앱 알림만 보냅니다.")}
                            </p>
                        }
                    })
                })}
            </Transition>
            <label class="check">
                <input type="checkbox" prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev)) />
                " 주문 상태를 카카오톡으로 받기"
            </label>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_korea_time() {
        // 2026-11-25 05:30 UTC is 14:30 in Seoul.
        assert_eq!(when(1_795_584_600_000), "11/25 14:30");
        // 2026-12-31 15:00 UTC is already 1 January in Seoul.
        assert_eq!(when(1_798_729_200_000), "1/1 00:00");
    }
}
