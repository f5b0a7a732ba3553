//! The rider's server functions: their profile, the board of deliveries nearby, and moving a
//! delivery along.

use crate::domain::{CurrentUser, OrderId, OrderStatus, RiderBoard};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::domain::{District, Role};
#[cfg(feature = "ssr")]
use crate::door::http;

/// The signed-in rider's profile: the home area the delivery list is centred on.
#[server(endpoint = "rider_profile")]
pub async fn rider_profile() -> Result<CurrentUser, AppError> {
    http::respond(async move {
        let (_state, user) = http::require(Role::Rider).await?;
        Ok(user)
    })
    .await
}

/// The rider's board: cooking and cooked orders near the rider (by `lat`/`lng` from the
/// browser, else the district `area`, else the rider's home area) and the rider's own.
#[server(endpoint = "rider_board")]
pub async fn get_rider_board(
    #[server(default)] lat: String,
    #[server(default)] lng: String,
    #[server(default)] area: String,
) -> Result<RiderBoard, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Rider).await?;
        let home = user
            .district
            .as_deref()
            .and_then(|name| District::parse("district", name).ok());
        let position = crate::domain::RiderPosition::parse(&lat, &lng, &area, home)?;
        Ok(crate::backend::deliveries::board(&state, &user, position).await?)
    })
    .await
}

/// A rider moves a delivery: `claim` a cooked order (the first rider wins; others get
/// "이미 배정된 주문입니다"), then `pick_up` and `deliver` their own.
#[server(endpoint = "rider_action")]
pub async fn rider_action(order_id: OrderId, action: String) -> Result<OrderStatus, AppError> {
    http::respond(async move {
        use crate::backend::commands::{transition, ActionDetails, Scope};
        use crate::domain::{parse_rider_action, Actor};
        let (state, user) = http::require(Role::Rider).await?;
        let action = parse_rider_action(&action)?;
        Ok(transition(
            &state,
            order_id,
            Actor::Rider,
            action,
            Scope::Rider(user.id),
            ActionDetails::default(),
        )
        .await?)
    })
    .await
}
