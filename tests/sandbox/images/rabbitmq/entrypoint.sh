#!/bin/sh
# Write rabbitmq.conf from the environment, then run the broker in the
# foreground as user rabbitmq.
set -eu
: "${RABBITMQ_DEFAULT_USER:=guest}" "${RABBITMQ_DEFAULT_PASS:=guest}"
mkdir -p /var/lib/rabbitmq/mnesia
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
cat >/etc/rabbitmq/rabbitmq.conf <<CONF
listeners.tcp.default = 127.0.0.1:$RABBITMQ_NODE_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RABBITMQ_MANAGEMENT_PORT
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
loopback_users = none
log.console = true
log.file = false
CONF
chown rabbitmq:rabbitmq /etc/rabbitmq/rabbitmq.conf
chmod 0600 /etc/rabbitmq/rabbitmq.conf
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- /usr/lib/rabbitmq/bin/rabbitmq-server
