CREATE TABLE `webhooks_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`subscription_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer NOT NULL,
	`response_status` integer,
	`last_error` text,
	`next_attempt_at` integer NOT NULL,
	`locked_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhooks_deliveries_event` ON `webhooks_deliveries` (`subscription_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `webhooks_deliveries_due` ON `webhooks_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhooks_deliveries_subscription` ON `webhooks_deliveries` (`subscription_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhooks_subscription_events` (
	`subscription_id` text NOT NULL,
	`event_type` text NOT NULL,
	PRIMARY KEY(`subscription_id`, `event_type`)
);
--> statement-breakpoint
CREATE INDEX `webhooks_subscription_events_type` ON `webhooks_subscription_events` (`event_type`);--> statement-breakpoint
CREATE TABLE `webhooks_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`owner_role` text NOT NULL,
	`url` text NOT NULL,
	`secret` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhooks_subscriptions_user` ON `webhooks_subscriptions` (`user_id`,`created_at`);