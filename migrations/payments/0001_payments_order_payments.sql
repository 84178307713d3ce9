CREATE TABLE `payments_order_payments` (
	`account_id` text NOT NULL,
	`order_id` text NOT NULL,
	`status` text NOT NULL,
	`amount_cents` integer,
	`reason` text,
	`balance_cents` integer NOT NULL,
	PRIMARY KEY(`account_id`, `order_id`)
);
--> statement-breakpoint
ALTER TABLE `payments_snapshots` DROP COLUMN `orders`;--> statement-breakpoint
-- Each order's payment from the events already stored: the latest event that names the order,
-- with the account's balance right after it (a running sum over the stream, deposits included).
INSERT INTO `payments_order_payments` (`account_id`, `order_id`, `status`, `amount_cents`, `reason`, `balance_cents`)
SELECT `account_id`, `order_id`, `status`, `amount_cents`, `reason`, `balance_cents` FROM (
	SELECT
		`account_id`,
		json_extract(`data`, '$.orderId') AS `order_id`,
		CASE `type` WHEN 'PaymentCharged' THEN 'charged' WHEN 'PaymentRefunded' THEN 'refunded'
			WHEN 'PaymentFailed' THEN 'failed' ELSE 'closed' END AS `status`,
		json_extract(`data`, '$.amountCents') AS `amount_cents`,
		json_extract(`data`, '$.reason') AS `reason`,
		SUM(CASE `type` WHEN 'PaymentCharged' THEN -json_extract(`data`, '$.amountCents')
			WHEN 'PaymentFailed' THEN 0 WHEN 'OrderClosed' THEN 0
			ELSE json_extract(`data`, '$.amountCents') END)
			OVER (PARTITION BY `account_id` ORDER BY `version`) AS `balance_cents`,
		ROW_NUMBER() OVER (PARTITION BY `account_id`, json_extract(`data`, '$.orderId') ORDER BY `version` DESC) AS `latest`
	FROM `payments_events`
) WHERE `order_id` IS NOT NULL AND `latest` = 1;
