DROP INDEX `webhooks_deliveries_subscription`;--> statement-breakpoint
CREATE INDEX `webhooks_deliveries_subscription` ON `webhooks_deliveries` (`subscription_id`,`created_at`,`id`);--> statement-breakpoint
DROP INDEX `webhooks_subscriptions_user`;--> statement-breakpoint
CREATE INDEX `webhooks_subscriptions_user` ON `webhooks_subscriptions` (`user_id`,`created_at`,`id`);