module github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/pdsim

go 1.24
