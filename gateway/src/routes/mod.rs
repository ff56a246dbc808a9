//! The gateway's routes, assembled once with their cross-cutting layers.

pub mod account;
pub mod alerts;
pub mod auth;
pub mod backtest;
pub mod channels;
pub mod explain;
pub mod history;
pub mod notifications;
pub mod prices;
pub mod quiet_hours;
pub mod snooze;
pub mod web;
pub mod ws;

use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{BoxError, Router};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::openapi_errors::ErrorAnswers;
use crate::overload::{self, PerAddress};
use crate::rejections;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "pricealert", description = "Price alerts over REST and WebSocket. Errors are JSON `{\"detail\": ...}`."),
    paths(
        auth::register, auth::login, auth::me, auth::delete_me,
        account::patch_me, account::change_password,
        alerts::list_alerts, alerts::create_alert, alerts::get_alert, alerts::patch_alert,
        alerts::delete_alert, alerts::toggle_alert, snooze::snooze_alert, snooze::unsnooze_alert,
        explain::explain_alert,
        notifications::alert_notifications, notifications::put_webhook,
        notifications::get_webhook, notifications::delete_webhook,
        quiet_hours::put_quiet_hours, quiet_hours::get_quiet_hours, quiet_hours::delete_quiet_hours,
        channels::put_channel, channels::get_channel, channels::delete_channel,
        channels::test_channel,
        prices::list_prices, prices::symbols, prices::one_price, ws::upgrade,
        history::history, history::instruments, history::one_stats, history::all_stats,
        backtest::backtest,
    ),
    components(schemas(
        auth::UserView, auth::RegisterRequest, auth::LoginRequest, auth::TokenView,
        account::AccountPatch, account::PasswordChange,
        alerts::AlertView, crate::alert_service::ChannelWarning, shared::domain::alert::NewAlertInput, shared::domain::alert::AlertPatchInput,
        notifications::DeliveryView, notifications::WebhookView, notifications::WebhookRequest,
        channels::ChannelView, channels::ChannelRequest, channels::ChannelTestView,
        crate::price_view::PriceView, prices::PricesView, prices::SymbolsView,
        history::HistoryView, history::CandleView, history::InstrumentView, history::StatsView,
        backtest::BacktestRequest, backtest::BacktestView, backtest::BacktestFire,
        snooze::SnoozeRequest, explain::ExplainView, explain::ExplainDelivery,
        quiet_hours::QuietHoursView, shared::domain::QuietHoursInput,
    )),
    modifiers(&BearerAuth, &ErrorAnswers),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found".to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn metrics_endpoint(State(state): State<AppState>) -> Response {
    shared::metrics::render(&state.registry)
}

fn cors(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods(Any)
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

/// Overload (more requests in flight than configured) and time-outs answer JSON 503 at once.
async fn overloaded(error: BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!("request timed out");
    }
    ApiError::Overloaded.into_response()
}

pub fn router(state: AppState) -> Router {
    let settings = &state.settings;
    let timeout = settings.request_timeout.max(Duration::from_secs(1));
    let body_deadline = settings.body_read_timeout.max(Duration::from_secs(1));
    let per_address = PerAddress::new(settings.max_in_flight_requests_per_address);
    let api = Router::new()
        .merge(auth::router())
        .merge(account::router())
        .merge(alerts::router())
        .merge(snooze::router())
        .merge(explain::router())
        .merge(notifications::router())
        .merge(quiet_hours::router())
        .merge(channels::router())
        .merge(prices::router())
        .merge(history::router())
        .merge(backtest::router())
        .route("/metrics", get(metrics_endpoint))
        .route("/health", get(shared::metrics::health))
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state.clone());
    // The WebSocket is long-lived: it stays outside the request time-out.
    let ws = ws::router().with_state(state.clone());
    // Bodies are read before a request takes an in-flight slot (see `overload`).
    let limited = api.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(
                body_deadline,
                overload::read_body_first,
            ))
            .layer(HandleErrorLayer::new(overloaded))
            .load_shed()
            .concurrency_limit(state.settings.max_in_flight_requests.max(1))
            .timeout(timeout),
    );
    Router::new()
        .merge(limited)
        .merge(ws)
        .merge(web::router().with_state(state.clone()))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            per_address,
            overload::limit_in_flight_per_address,
        ))
        .layer(middleware::from_fn(rejections::refuse_oversized_heads))
        .layer(middleware::from_fn(rejections::json_rejections))
        .layer(cors(&state.settings.cors_origins))
}

/// Counts and times every routed request under its route template. It takes the whole state,
/// one reference count, rather than the metrics, a dozen of them cloned per request.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let metrics = &state.metrics;
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics
        .requests
        .with_label_values(&[&method, &endpoint, &status])
        .inc();
    metrics
        .latency
        .with_label_values(&[&method, &endpoint])
        .observe(started.elapsed().as_secs_f64());
    response
}
