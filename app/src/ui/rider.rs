//! The rider's home: the area deliveries are offered from.

use super::auth::role_page;
use crate::domain::Role;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn RiderHome() -> impl IntoView {
    role_page(Role::Rider, |user| {
        view! {
            <Title text="배달 목록" />
            <section class="page-head">
                <h1>"배달 목록"</h1>
                <p class="muted" data-testid="rider-area">
                    "활동 지역: " {user.district.unwrap_or_else(|| "미설정".into())}
                </p>
            </section>
            <p class="empty">"지금은 가까운 곳에 요리가 완료된 주문이 없습니다."</p>
        }
        .into_any()
    })
}
