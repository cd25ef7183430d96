# Where packaging/install.sh puts things and where packaging/uninstall.sh finds them (sourced by
# both, so that the two cannot disagree).
# shellcheck shell=bash disable=SC2034
prefix=/usr/local
record=/var/lib/secure-container/install
# The VM templates' default directory ([template] directory in the config).
templates=/var/lib/secure-container/templates
# install.sh --enable-ksm: turns the kernel's same-page merging on at every boot.
ksm_tmpfiles=/etc/tmpfiles.d/secure-container-ksm.conf
conf=/etc/secure-container/secure-container.conf
containerd_conf=/etc/containerd/config.toml
dropin=/etc/containerd/conf.d/secure-container.toml
begin_marker="# BEGIN secure-container (packaging/install.sh; removed by packaging/uninstall.sh)"
end_marker="# END secure-container"
