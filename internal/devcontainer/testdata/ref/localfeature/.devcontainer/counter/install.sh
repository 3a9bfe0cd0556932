#!/bin/sh
echo "start=$START" > /etc/counter
