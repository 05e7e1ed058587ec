// Sends the original landing page's GA4 events, as the `original_landing_page`
// schema of ga4-button-workflows reads them:
//
//   page_view                              page_variant
//   button_hover_start / button_hover_end  button_type=cta (+ hover_duration on end)
//   cta_click                              button_type=cta, hover_duration, total_engagement
//   button_interaction_success             button_type=cta
//   nav_hover_start / nav_hover_end        nav_item, nav_text (+ hover_duration on end)
//   navigation_click / navigation_success  nav_item, nav_text (+ hover_duration on click)
//   feature_hover_start / feature_hover_end  feature_type=card (+ hover_duration on end)
//   feature_click / feature_interaction_success  feature_type=card (+ hover_duration on click)
//
// Every event carries page_variant. Register page_variant, button_type,
// nav_item, nav_text, feature_type and hover_duration as custom definitions in
// GA4 before analysing (GA4 does not backfill them).
//
// Without a measurement ID the events are logged to the console instead.
(function () {
  "use strict";

  var body = document.body;
  var variant = body.getAttribute("data-page-variant");
  var measurementId = body.getAttribute("data-measurement-id");
  var loadedAt = Date.now();

  window.dataLayer = window.dataLayer || [];
  function gtag() {
    window.dataLayer.push(arguments);
  }
  if (measurementId) {
    gtag("js", new Date());
    gtag("config", measurementId, { send_page_view: false });
  }

  function track(name, params) {
    var payload = Object.assign({ page_variant: variant }, params || {});
    if (measurementId) {
      gtag("event", name, payload);
    } else {
      console.info("[ga4 dry run]", name, payload);
    }
  }

  // Hover timing: start on enter, duration on leave and on click.
  function hoverTracker(element, family, params) {
    var hoverStart = 0;
    function duration() {
      return hoverStart ? Date.now() - hoverStart : 0;
    }
    element.addEventListener("mouseenter", function () {
      hoverStart = Date.now();
      track(family.start, params);
    });
    element.addEventListener("mouseleave", function () {
      track(family.end, Object.assign({ hover_duration: duration() }, params));
      hoverStart = 0;
    });
    return duration;
  }

  track("page_view");

  var cta = document.querySelector("[data-button-type=cta]");
  var ctaParams = { button_type: "cta" };
  var ctaHover = hoverTracker(
    cta,
    { start: "button_hover_start", end: "button_hover_end" },
    ctaParams
  );
  cta.addEventListener("click", function () {
    track(
      "cta_click",
      Object.assign(
        { hover_duration: ctaHover(), total_engagement: Date.now() - loadedAt },
        ctaParams
      )
    );
    document.querySelector("[data-cta-thanks]").hidden = false;
    track("button_interaction_success", ctaParams);
  });

  document.querySelectorAll("[data-nav-item]").forEach(function (link) {
    var params = {
      nav_item: link.getAttribute("data-nav-item"),
      nav_text: link.textContent.trim(),
    };
    var navHover = hoverTracker(
      link,
      { start: "nav_hover_start", end: "nav_hover_end" },
      params
    );
    link.addEventListener("click", function () {
      track("navigation_click", Object.assign({ hover_duration: navHover() }, params));
      window.setTimeout(function () {
        track("navigation_success", params);
      }, 0);
    });
  });

  document.querySelectorAll("[data-feature]").forEach(function (card) {
    var params = { feature_type: "card" };
    var cardHover = hoverTracker(
      card,
      { start: "feature_hover_start", end: "feature_hover_end" },
      params
    );
    function open() {
      track("feature_click", Object.assign({ hover_duration: cardHover() }, params));
      card.querySelector(".more").hidden = false;
      track("feature_interaction_success", params);
    }
    card.addEventListener("click", open);
    card.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open();
      }
    });
  });
})();
