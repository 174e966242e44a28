# rotsec right after files: local accounts (root above all) never depend on rotsec's store,
# and service accounts resolve before any network service is asked (nss_rotsec(8)).
passwd after=files rotsec
group  after=files rotsec
shadow after=files rotsec
