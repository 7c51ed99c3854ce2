#!/bin/sh
# deps.sh PACKAGE... - `make bench-deps`: tests/apt-deps.sh, then for the web
# servers this call installed (nginx-light, lighttpd), their system service
# stopped and disabled again.  Debian's packages start nginx and lighttpd on
# port 80 when they are installed (unless a policy-rc.d forbids it); the bench
# runs its own instances from generated configurations on free ports and
# never uses those services.  A server that was installed before is left as
# it was: it may be the machine owner's.
new=""
for p in nginx-light lighttpd; do
	case " $* " in *" $p "*) ;; *) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    new="$new $p"
done
sh "$(dirname "$0")/../apt-deps.sh" bench-deps "$@" || exit 1
for p in $new; do
	s=${p%-light}
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || continue
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		if systemctl is-active --quiet "$s" || systemctl is-enabled --quiet "$s" 2>/dev/null; then
			echo "bench-deps: stopping and disabling the $s service apt started"
			systemctl disable --now --quiet "$s" || exit 1
		fi
	elif [ -x "/etc/init.d/$s" ]; then
		if "/etc/init.d/$s" status >/dev/null 2>&1; then
			echo "bench-deps: stopping the $s service apt started"
			"/etc/init.d/$s" stop >/dev/null || exit 1
		fi
		command -v update-rc.d >/dev/null 2>&1 && update-rc.d "$s" disable >/dev/null 2>&1
	fi
done
exit 0
