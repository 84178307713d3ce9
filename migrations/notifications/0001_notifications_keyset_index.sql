DROP INDEX `notifications_notifications_user`;--> statement-breakpoint
CREATE INDEX `notifications_notifications_user` ON `notifications_notifications` (`user_id`,`created_at`,`id`);