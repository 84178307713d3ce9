CREATE TABLE "webhooks"."webhooks_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"subscription_id" text NOT NULL,
	"event_id" text NOT NULL,
	"event_type" text NOT NULL,
	"payload" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer NOT NULL,
	"response_status" integer,
	"last_error" text,
	"next_attempt_at" bigint NOT NULL,
	"locked_until" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhooks"."webhooks_subscription_events" (
	"subscription_id" text NOT NULL,
	"event_type" text NOT NULL,
	CONSTRAINT "webhooks_subscription_events_subscription_id_event_type_pk" PRIMARY KEY("subscription_id","event_type")
);
--> statement-breakpoint
CREATE TABLE "webhooks"."webhooks_subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"owner_role" text NOT NULL,
	"url" text NOT NULL,
	"secret" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "webhooks_deliveries_event" ON "webhooks"."webhooks_deliveries" USING btree ("subscription_id","event_id");--> statement-breakpoint
CREATE INDEX "webhooks_deliveries_due" ON "webhooks"."webhooks_deliveries" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "webhooks_deliveries_subscription" ON "webhooks"."webhooks_deliveries" USING btree ("subscription_id","created_at","id");--> statement-breakpoint
CREATE INDEX "webhooks_subscription_events_type" ON "webhooks"."webhooks_subscription_events" USING btree ("event_type");--> statement-breakpoint
CREATE INDEX "webhooks_subscriptions_user" ON "webhooks"."webhooks_subscriptions" USING btree ("user_id","created_at","id");