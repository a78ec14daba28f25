"""Seeded generator of a synthetic paid_posting (网络水军) training set.

Rows are built as templates x slots x inline variants x noise:
  * a TEMPLATE line ``<id> <category> | <text>`` holds ``{slot}`` placeholders and inline
    choices ``[a|b|c]`` (an empty alternative means "optional");
  * slots come from SLOTS (fixed lists) or DYNAMIC (generated: contacts with evasive
    spellings 加 薇 信 / v❤ / 扣扣①②③ / keycap digits, phone numbers, users, links);
  * noise is the same for both labels: platform style (Weibo comment/repost, Douyin comment,
    Tieba post, Zhihu answer, group chat), emoji and [表情] codes, #topics#, URLs, traditional
    characters, full-width ASCII, zero-width spaces, HTML entities, spaced-out characters.

Positive categories are the lexicon intents (recruit, engagement_selling, deletion, extortion,
contact_lure); negatives (label 0, category ``neg_*``) are HARD negatives that share vocabulary
with the positives. Split rule (fixed): inside each category, in table order, every 5th
template (index % 5 == 4) goes to dev, the rest to train, so no template_id is in both.

    python -m training.datagen.paid --out data/paid_posting [--seed 20261120] [--per-template 75]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from functools import lru_cache
from pathlib import Path

SEED = 20261120
PER_TEMPLATE = 75
DEV_EVERY = 5

_SLOT_TABLE = """
plat: 微博|抖音|小红书|快手|知乎|贴吧|大众点评|淘宝|拼多多|美团|B站|视频号
product: 面膜|口红|蓝牙耳机|奶茶|火锅|新款手机|护肤品|网课|扫地机器人|零食礼包|电动牙刷|猫粮|洗发水|空气炸锅|羽绒服|烤鸭|咖啡豆
shop: 小店|网店|烘焙坊|餐厅|酒店|民宿|奶茶店|健身房|美容院|培训机构|书店|花店
company: 贵公司|你们公司|王总|张老板|你们酒店|你们餐厅|贵医院|你们学校|贵楼盘|李经理
company_name: 星辰科技|蓝海物流|城南中学|华远建设|青禾食品|某互联网公司|市第一医院|新世纪商场
small: 1|2|3|5|6|8|10|12|15|18|20
mid: 50|80|99|100|120|150|200|260|300|500|888
big: 2000|3000|5000|8000|1万|2万|3万|5万|10万
daily: 日结|当天结算|一单一结|做完就结|秒结|当日到账|日结不拖欠
count: 100|300|500|1000|2000|5000|1w|3w|10w
eng: 粉丝|点赞|评论|播放量|阅读量|收藏|转发|在线人数
crowd: 宝妈|学生党|上班族|待业在家的|大学生|全职太太|退休阿姨
lure: 免费领取考研资料|内部消息一手掌握|想赚钱的来|手把手教你做副业|正品外贸尾单|私人订制|各种电子书都有|低价代购|高清壁纸合集
time: 今天|明天|这周|三天内|24小时内|月底前
role: 前端工程师|销售代表|会计|仓库管理员|客服专员|行政助理|数据分析师|物流司机
role2: 厨师|洗碗工|保洁|装修工|电工|收银员|快递分拣员
role_intern: 用户研究|内容审核|市场推广|数据标注|产品运营
wage: 20元|25元|30元|150元|200元
salary: 5000-8000|6000起|8k-12k|面议|4500+提成
city: 成都|杭州|西安|长沙|青岛|厦门|南京|重庆|昆明|苏州
show: 这部新剧|那部纪录片|周末的电影|新出的动画|这季综艺
topic: 今日热点|打工人日常|生活碎片|好物分享|兼职|求助|吐槽|美食
"""

_TEMPLATE_TABLE = """
rec01 recruit | 招[几|10|20|30]名兼职，手机{plat}发帖评论，一条{small}元，{daily}，{contact}
rec02 recruit | 【{plat}兼职】在家[可做|就能做]，动动手指就能赚钱，{crowd}优先，{contact}
rec03 recruit | 诚招水军[若干|一批|长期]，帮[客户|商家]在{plat}[控评|刷评论|顶帖]，按条结算，{contact}
rec04 recruit | 刷单兼职：垫付{mid}返{mid}+佣金{small}元，[当天到账|秒返|一单一返]，{contact}
rec05 recruit | 有没有想赚零花钱的[姐妹|兄弟|朋友]？每天花半小时[发发评论|点点赞|转发一下]，{daily}，[私我|滴滴我|{contact}]
rec06 recruit | 急招网络写手，[写|编]{product}[好评|种草文|测评]，{mid}一篇，[量大|长期合作]，{contact}
rec07 recruit | [手机点赞关注|看视频点赞|关注主播]就能赚钱，一单{small}元，多劳多得，[无需押金|零门槛]，{contact}
rec08 recruit | [工作室|团队]扩招，招长期刷手[和补单员|]，[不收任何费用|无需押金]，[日赚|一天轻松]{mid}+，{contact}
rec09 recruit | [接单群|派单群]招人啦，任务[很简单|超简单]：复制粘贴评论到{plat}就行，[一条{small}元|{daily}]，{contact}
rec10 recruit | [寻|找]一批{plat}[老号|账号]帮忙发[帖|评论]，[带图|带话题]，报酬{small}元/条，[私聊|看主页]
eng01 engagement_selling | 专业[刷|代刷]{plat}{eng}，真人[活粉|操作]，{count}{eng}只要{mid}元，{contact}
eng02 engagement_selling | [想上热搜|上热搜]找我，{plat}热搜包上，[价格私聊|价格美丽]，{contact}
eng03 engagement_selling | {plat}控评服务：负面评论[压下去|沉底]，好评顶[上来|到前排]，[按小时收费|包月更优惠]，{contact}
eng04 engagement_selling | 亲，五星好评[+|加]晒图返{small}元[红包|现金]，[截图发客服|联系客服领取]哦～
eng05 engagement_selling | 提升[店铺|账号|笔记]权重，点赞收藏评论一条龙，[安全不降权|不封号]，{contact}
eng06 engagement_selling | [出|卖]{plat}粉丝，{count}粉只要{mid}，掉粉包补，[诚信经营|老客户优惠]
eng07 engagement_selling | [代刷|专业刷]{eng}，{plat}[全平台|各平台]可做，秒到[不掉|稳定]，{contact}
eng08 engagement_selling | 新店[开业|上新]冲销量，[招人补单|刷单补单]，[本金秒返|安全不降权]，{contact}
eng09 engagement_selling | [主播|新号]涨人气，直播间真人[挂机|互动]在线，{count}人起，{contact}
eng10 engagement_selling | [追评|带图好评]再返{small}元，好评截图私信客服[领钱|返现]，[差评|中评]不返哦
del01 deletion | 专业删帖，{plat}[负面信息|差评|黑帖]处理，{contact}
del02 deletion | 有偿删帖，[百度|贴吧|论坛|新闻网站][均可|都能删]，不成功不收费，{contact}
del03 deletion | [公司|门店|品牌]遇到负面舆情？[我们|专业]舆情公关团队帮你处理，[24小时响应|当天见效]，{contact}
del04 deletion | 新闻撤稿、屏蔽负面，[效果保证|先做后付]，[价格私聊|{contact}]
del05 deletion | 帮[企业|老板|商家]压负面、优化搜索结果，首页[不见|看不到]差评，{contact}
del06 deletion | {plat}差评可删，[一条|每条]{mid}元，[老客户打折|量大从优]，{contact}
del07 deletion | 网上有您的[黑料|负面新闻|不实报道]？我们可以帮您[删除|处理干净]，[私信详聊|{contact}]
del08 deletion | [承接|专业承接]各大平台[删帖撤稿|负面处理]业务，[保密|隐私保护]，{contact}
del09 deletion | [老板|亲]，您家店铺的差评我们能[删|处理]，[不成功不收费|先删后付]，{contact}
del10 deletion | {company}的负面帖[我们可以|可以]帮忙[撤下|删掉]，[报价|价格]{big}起，{contact}
ext01 extortion | {company}，你们的[问题|丑事|内幕]我手里有[证据|录音|照片]，不想被曝光就[拿|准备]{big}，{contact}
ext02 extortion | 再不给钱，{time}就把你们[店|公司]的事发到{plat}上
ext03 extortion | 给你[三天|24小时]考虑，不处理我就[发帖曝光你|让你上热搜]，后果自负
ext04 extortion | 我们[手里|这边]有{company}的负面稿件，[想|如果想]撤下来[联系我们|找我]，{contact}
ext05 extortion | [不想|不希望]上热搜就私聊，[价钱好商量|花钱消灾]
ext06 extortion | [老板|经理]，[给|转]{big}这事就[摆平|算了]，不然[全网曝光|发到网上]
ext07 extortion | [我是|本人是]自媒体[记者|博主]，[掌握|拿到]了{company}的[负面|黑料]，[谈谈合作|要么合作]，[不然|否则]明天[见报|全网发]
ext08 extortion | 封口费{big}，[少一分|少一个子]都不行，不然[视频|照片]就[发出去|挂网上]
ext09 extortion | {company}要是不[给个说法|出钱]，我就[雇水军|找人]天天[刷|发]你们的差评
ext10 extortion | [跟你们|给你们]老板说，{big}[买个平安|花钱消灾]，[否则|不然]让你们身败名裂
con01 contact_lure | {lure}，{contact}
con02 contact_lure | [想要|需要][资料|资源|同款]的[姐妹|朋友|宝子]看主页，{contact}
con03 contact_lure | [高清|完整版][资源|视频]免费[领|看]，{contact}
con04 contact_lure | [点击链接|戳链接]领取[优惠券|红包|福利] {link}
con05 contact_lure | [无抵押|秒批|低息]贷款，[当天放款|不看征信]，{contact}
con06 contact_lure | [彩票|股票|投资][导师带单|内部计划]，[稳赚不赔|包赚]，进群{contact}
con07 contact_lure | 评论区[扣1|回复1]的我[都私|一个一个私]了，[没收到的|收不到]{contact}
con08 contact_lure | [同城|附近]交友，[寂寞|无聊]的[来|进来]，{contact}
con09 contact_lure | 代[开发票|办证件|考驾照]，[正规|包过]，{contact}
con10 contact_lure | [减肥|祛斑|增高][神器|秘方]，[一个月见效|无效退款]，[需要的|想了解的]{contact}
npa1 neg_product_ad | [本店|我们店|小店]{product}[上新|新品上市]啦，[全场八折|满100减20|第二件半价]，欢迎到店[选购|体验]！
npa2 neg_product_ad | {shop}[周年庆|开业]，[本周末|这周六]到店消费送{product}小样，地址在[万达广场三楼|人民路88号|地铁站B口旁边]
npa3 neg_product_ad | [双十一|年货节|618]活动开始了，[官方旗舰店|门店|官网]同步[优惠|降价]，{product}[需要的可以看看|按需购买]
npa4 neg_product_ad | {shop}[新菜品|新课程|新款]推出，[价格实惠|品质保证]，[营业时间|开放时间]早九点到晚九点
npa5 neg_product_ad | [自家果园|老家]的[橙子|苹果|猕猴桃]熟了，[产地直发|不打药]，[在淘宝搜店名就能找到|店铺链接在主页橱窗]
njp1 neg_job_post | {company_name}招聘{role}，[本科及以上|经验不限]，五险一金，[简历请投递至官网招聘页面|有意者请到公司现场面试]
njp2 neg_job_post | [周末|暑期]兼职：[超市促销员|餐厅服务员|展会礼仪]，[时薪|日薪]{wage}，[日结|月结]，需到店面试
njp3 neg_job_post | [招聘|诚聘]{role}[两名|若干]，[月薪|薪资]{salary}，包吃住，地址：[城东工业园|高新区创业大厦]
njp4 neg_job_post | [我们组|团队]在招实习生，做{role_intern}，[可转正|有导师带]，感兴趣的可以[在招聘网站搜公司名|通过学校就业网投递]
njp5 neg_job_post | [急招|招]{role2}，[要求有健康证|熟练工优先]，[工资面议|待遇从优]，[电话联系|联系人]王经理 {phone}
nhr1 neg_help_request | [求助|请问]{plat}账号被盗了怎么找回？[客服一直打不通|申诉没反应]
nhr2 neg_help_request | [家里老人|我妈]手机老是弹出[广告|乱七八糟的链接]，[怎么关掉|有什么办法]？
nhr3 neg_help_request | [有没有懂法律的朋友|请教一下]，[房东|老板]拖欠[工资|押金]，该去哪里[投诉|维权]？
nhr4 neg_help_request | [寻物启事|求扩散]：{time}在[地铁二号线|人民公园|火车站]丢了[一个黑色背包|钱包|身份证]，[捡到的好心人|麻烦大家]请[联系我|私信我]，[万分感谢|谢谢]
nhr5 neg_help_request | [新手开店|第一次开网店]，[请问|想问下]怎么[提高销量|吸引顾客]才[合规|不违规]？[不想搞刷单那一套|听说刷单会被封]
ncn1 neg_crackdown_news | [网信办|公安机关|市场监管部门]开展专项行动，[严厉打击|依法查处]网络水军、[有偿删帖|刷量控评]等违法行为
ncn2 neg_crackdown_news | [警方|某地警方]破获一起[有偿删帖|网络水军|刷单炒信]案，[抓获|刑拘]犯罪嫌疑人{n}名，涉案金额{big}元
ncn3 neg_crackdown_news | 【[清朗|净网]行动】[平台|微博|抖音][清理|处置]违规账号{count}个，[重点整治|集中打击]刷量控评、[虚假流量|黑公关]
ncn4 neg_crackdown_news | [法院|检察院]通报：[某公司|一男子]以[舆情敲诈|曝光负面]为名勒索企业{big}元，[被判|获刑][两|三]年
ncn5 neg_crackdown_news | [新规|新修订的规定]明确，[平台不得|禁止][好评返现|诱导好评]，[违者将被处罚|消费者可以举报]
nsc1 neg_scam_complaint | 千万别信什么刷单返利，[我妈|我同学|我朋友]被骗了{mid}[多|]块，[已经报警了|警察说追回很难]
nsc2 neg_scam_complaint | [大家注意|提醒一下]，[最近|有人]冒充{plat}客服[加微信|让你下载APP]，说[帮你退款|刷单返佣]，都是骗子！
nsc3 neg_scam_complaint | [买了个|网购了]{product}，[商家说|卡片上写]好评返现，[结果|但][差评都不让写|根本没返]，[太坑了|无语]
nsc4 neg_scam_complaint | [被拉进一个|收到一个]兼职群，[说是|号称]点赞就能赚钱，[先给你返几块|第一单返了钱]，[后面|然后]让垫付{mid}[就没了|就拉黑了]
nsc5 neg_scam_complaint | [举报|吐槽]一下：评论区[全是|一堆]复制粘贴的[好评|夸夸]，[一看就是水军|明显是买的]，[平台管管吧|大家别上当]
nnd1 neg_neutral_deletion | [吧主|版主|管理员]删帖了，[说是|理由是][涉及广告|引战|重复发帖]，[我重新发一遍|算了不发了]
nnd2 neg_neutral_deletion | [我|昨天]把[那条微博|那个视频|那篇回答]删了，[说错话了|写得不好|有错别字]，[不好意思|抱歉]
nnd3 neg_neutral_deletion | [请问|想问下]{plat}[怎么批量删除|怎么删除]自己以前的[帖子|评论|动态]？[太多了一条条删好累|有点黑历史]
nnd4 neg_neutral_deletion | [本吧|本群|本版]规：[广告帖|无关帖|人身攻击]一律删帖，[屡教不改的|多次违规]封号处理
nnd5 neg_neutral_deletion | [作者|博主]已[经|]撤稿[重写|修改]，[新版|更新版本][晚点发|明天发]，[感谢大家|谢谢]指正
npr1 neg_praise_review | [这家|这个]{product}[真的|确实][好吃|好用|不错]，[下次还来|会回购|推荐给朋友了]
npr2 neg_praise_review | [服务态度很好|包装很用心|物流很快]，{product}[和描述一致|质量超出预期]，[五星好评|给个好评]！
npr3 neg_praise_review | [第一次|头一回]在{plat}买{product}，[没想到|意外地]还[挺好|挺值]的，[性价比高|物有所值]
npr4 neg_praise_review | [老板人很好|店员很热情]，[环境干净|上菜很快]，[推荐|强推][招牌菜|他家的{product}]
npr5 neg_praise_review | [用了一个月|吃了好几次]，[来追评|追加评价]：[依然好用|味道稳定]，[没有踩雷|值得买]
nec1 neg_everyday_contact | 我微信上跟[他|她|老王]说了，[明天见|周末一起吃饭|让他早点到]
nec2 neg_everyday_contact | [照片|视频|文件]我[发你微信了|晚点发你QQ]，[记得查收|收到回我一下]
nec3 neg_everyday_contact | [班级|小区|家长]群[里|]通知[明天|周五][开会|停水|交作业]，[大家|各位]看一下[微信群|群消息]
nec4 neg_everyday_contact | [妈妈|奶奶]终于学会[用微信视频了|发语音了]，[每天|天天]给我[打视频|发表情包]
nec5 neg_everyday_contact | [我的|我]QQ号[用了十几年|还是初中注册的]，[好多回忆|现在都不怎么上了]
ndi1 neg_discussion | [现在|这年头]评论区[水军|控评]太多了，[都不知道该信谁|真实评价都看不到了]
ndi2 neg_discussion | [粉圈|饭圈]控评[这种事|这一套][真的|实在]让人[反感|看不下去]，[能不能|希望]理性追星
ndi3 neg_discussion | [有人|大家]知道[怎么辨别|怎么看出]水军吗？[感觉|好像][这条|这个]热搜[有点奇怪|是买的]
ndi4 neg_discussion | [看了|读了]一篇关于[刷量产业链|有偿删帖|网络黑公关]的[调查报道|深度报道]，[触目惊心|细思极恐]
ndi5 neg_discussion | [论文|课题]在研究[网络水军识别|虚假评论检测]，[求推荐|有没有]相关的[数据集|文献]？
ngl1 neg_general | [今天|周末]天气[不错|真好]，[带孩子去|和朋友去][公园|爬山|看展]，[开心|累但快乐]
ngl2 neg_general | [终于|总算][下班了|考完试了|放假了]，[回家|先去]吃顿[火锅|好的][犒劳自己|庆祝一下]
ngl3 neg_general | [请问|有没有人知道]{city}[哪里|什么地方][好玩|适合遛娃|有好吃的]？[求推荐|周末想去]
ngl4 neg_general | [看完了|刚看完]{show}，[结局|剧情][有点意外|太好哭了]，[推荐大家去看|值得二刷]
ngl5 neg_general | [早上|今天]跑了[3|5|8|10|12]公里，[坚持|打卡]第{n}天，[加油|继续努力]
"""

EMOJI = "😂 🔥 👍 💰 ❤️ ✨ 🙏 😭 🤣 👉 🌹 💯 😊 🎉 🧧 ⚡ 🈶".split()
FACE_CODES = "[doge] [允悲] [哈哈] [赞] [笑cry] [二哈] [心] [给力] [微笑] [抱抱] [吃瓜]".split()
NAME_PARTS = "小 阿 大 老 momo 可乐 橘子 夏天 阳光 木木 jojo 星河 追风 糖糖 一只 喵 吃瓜 路人 甲 乙 99 2026 君 酱".split()
SPREAD_SEPS = [" ", "·", "❤", "🌸", "/", "-", "_", "丶", " ", "✨"]
CIRCLED = dict(zip("0123456789", "⓪①②③④⑤⑥⑦⑧⑨"))
KEYCAP = {d: d + "\ufe0f\u20e3" for d in "0123456789"}
WX_KEYS = ["加微信", "微信", "vx", "V信", "薇信", "威信", "加V", "v❤", "➕v", "wx", "加 薇 信",
           "加 微 信", "绿泡泡", "加v❤", "VX", "徽信", "wei信", "卫星"]
QQ_KEYS = ["QQ", "扣扣", "企鹅", "➕q", "q群", "Q", "加q", "扣群", "抠抠"]
BARE_LURES = ["私我", "滴滴我", "看主页", "主页有联系方式", "私信详聊", "评论区扣1我私你", "戳头像",
              "主页v", "看我简介", "头像有惊喜", "懂的来", "私聊了解"]
SEPS = ["", "：", ":", " ", "→", "👉", "~", "："]


def _parse_slots(table: str) -> dict[str, list[str]]:
    slots = {}
    for line in table.strip().splitlines():
        name, values = line.split(":", 1)
        slots[name.strip()] = values.strip().split("|")
    return slots


def _parse_templates(table: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in table.strip().splitlines():
        head, text = line.split(" | ", 1)
        tid, category = head.split()
        rows.append((tid, category, text.strip()))
    return rows


SLOTS = _parse_slots(_SLOT_TABLE)
TEMPLATES = _parse_templates(_TEMPLATE_TABLE)


def _digits(rng: random.Random, s: str) -> str:
    """Write a number plainly or in an evasive style."""
    style = rng.choices(["plain", "circled", "keycap", "spaced", "full", "dash"], [5, 2, 1, 1, 1, 1])[0]
    if style == "circled":
        return "".join(CIRCLED[c] for c in s)
    if style == "keycap":
        return "".join(KEYCAP[c] for c in s)
    if style == "spaced":
        return " ".join(s)
    if style == "full":
        return "".join(chr(ord(c) + 0xFEE0) for c in s)
    if style == "dash" and len(s) == 11:
        return s[:3] + "-" + s[3:7] + "-" + s[7:]
    return s


def _wxid(rng: random.Random) -> str:
    head = rng.choice(["xiaomei", "jz", "kefu", "dd", "ly", "sd", "vip", "wang", "tt", "ab", "hao", "zhuan"])
    tail = "".join(rng.choice("0123456789") for _ in range(rng.randint(3, 7)))
    return head + rng.choice(["", "_", "", "-"]) + tail


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def _contact(rng: random.Random) -> str:
    kind = rng.choices(["wx", "qq", "phone", "bare", "combo"], [5, 2, 1, 2, 1])[0]
    if kind == "wx":
        wxid = _wxid(rng)
        if rng.random() < 0.2:
            wxid = " ".join(wxid) if rng.random() < 0.5 else wxid.upper()
        return rng.choice(WX_KEYS) + rng.choice(SEPS) + wxid
    if kind == "qq":
        num = str(rng.randint(10000, 3999999999))
        return rng.choice(QQ_KEYS) + rng.choice(SEPS) + _digits(rng, num)
    if kind == "phone":
        return rng.choice(["电话", "手机", "tel", "📞", "微信同号", "V同号"]) + rng.choice(SEPS) + _digits(rng, _phone(rng))
    if kind == "bare":
        return rng.choice(BARE_LURES)
    return rng.choice(BARE_LURES) + "，" + rng.choice(WX_KEYS) + rng.choice(SEPS) + _wxid(rng)


def _user(rng: random.Random) -> str:
    return "".join(rng.sample(NAME_PARTS, rng.randint(2, 3)))


def _link(rng: random.Random) -> str:
    code = "".join(rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGH23456789") for _ in range(rng.randint(5, 8)))
    return rng.choice(["https://t.cn/", "t.cn/", "http://dwz.cn/", "https://url.cn/", "suo.im/"]) + code


DYNAMIC = {
    "contact": _contact,
    "phone": lambda rng: _phone(rng),
    "link": _link,
    "n": lambda rng: str(rng.randint(2, 60)),
}

_CHOICE = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")


def expand(template: str, rng: random.Random) -> str:
    """Fill inline ``[a|b]`` choices, then ``{slot}`` placeholders."""
    text = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)

    def fill(m: re.Match) -> str:
        name = m.group(1)
        return DYNAMIC[name](rng) if name in DYNAMIC else rng.choice(SLOTS[name])

    return _SLOT.sub(fill, text)


def _platform_style(text: str, rng: random.Random) -> str:
    style = rng.choices(["plain", "weibo", "douyin", "tieba", "zhihu", "group"], [5, 4, 3, 3, 2, 3])[0]
    user = _user(rng)
    if style == "weibo":
        return rng.choice([f"回复@{user}:{text}", f"{text}//@{user}:{rng.choice(['转发微博', '[doge]', '哈哈', '？'])}",
                           f"#{rng.choice(SLOTS['topic'])}# {text}", f"{text} {rng.choice(FACE_CODES)}"])
    if style == "douyin":
        return rng.choice([f"@{user} {text}", f"{text}{rng.choice(EMOJI)}{rng.choice(EMOJI)}", f"{text} @{user}"])
    if style == "tieba":
        return rng.choice([f"{text}\n--来自{rng.choice(['Android', 'iPhone', '百度贴吧'])}客户端",
                           f"【{rng.choice(['水', '求助', '分享', '闲聊', '广告'])}】{text}", f"{rng.randint(2, 99)}楼 {text}"])
    if style == "zhihu":
        return rng.choice([f"谢邀。{text}", f"{text}\n编辑于 2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
                           f"利益相关，匿了。{text}"])
    if style == "group":
        return rng.choice([f"【群公告】{text}", f"{user}：{text}", f"[{rng.choice(['群主', '管理员', '成员'])}]{user}: {text}"])
    return text


def _spread(text: str, rng: random.Random) -> str:
    """Space out 2-4 consecutive CJK characters: 兼职 -> 兼 职 / 兼❤职."""
    spans = [m.span() for m in re.finditer(r"[\u4e00-\u9fff]{2,4}", text)]
    if not spans:
        return text
    a, b = rng.choice(spans)
    sep = rng.choice(SPREAD_SEPS)
    return text[:a] + sep.join(text[a:b]) + text[b:]


def _insert(text: str, piece: str, rng: random.Random, at_boundary: bool = False) -> str:
    cuts = [i + 1 for i, c in enumerate(text) if c in "，。！？ "] + [len(text)] if at_boundary else None
    pos = rng.choice(cuts) if cuts else rng.randint(0, len(text))
    return text[:pos] + piece + text[pos:]


@lru_cache(maxsize=1)
def _s2t():
    from opencc import OpenCC  # opencc-python-reimplemented

    return OpenCC("s2t")


def noisify(text: str, label: int, rng: random.Random) -> str:
    """Crawl noise; identical rates for both labels except evasive spacing (more in positives)."""
    text = _platform_style(text, rng)
    if rng.random() < (0.15 if label else 0.05):
        text = _spread(text, rng)
    if rng.random() < 0.25:
        text += "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.12:
        text = _insert(text, rng.choice(FACE_CODES), rng, at_boundary=True)
    if rng.random() < 0.06:
        text += f" https://www.example.com/{rng.choice(['p', 'detail', 's'])}/{rng.randint(1000, 99999)}"
    if rng.random() < 0.08:
        text = _s2t().convert(text)
    if rng.random() < 0.07:
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    if rng.random() < 0.06:
        for _ in range(rng.randint(1, 3)):
            text = _insert(text, "\u200b", rng)
    if rng.random() < 0.04:
        text = _insert(text, rng.choice(["&nbsp;", "&amp;", "&quot;", "&lt;br&gt;"]), rng)
    return text


def split_of(template_ids_in_category: list[str], tid: str) -> str:
    """Fixed split rule: the template's index inside its category, % DEV_EVERY == DEV_EVERY-1 -> dev."""
    return "dev" if template_ids_in_category.index(tid) % DEV_EVERY == DEV_EVERY - 1 else "train"


def template_splits() -> dict[str, str]:
    """template_id -> "train" | "dev" for every template in TEMPLATES."""
    by_cat: dict[str, list[str]] = {}
    for tid, cat, _ in TEMPLATES:
        by_cat.setdefault(cat, []).append(tid)
    return {tid: split_of(by_cat[cat], tid) for tid, cat, _ in TEMPLATES}


def _rows_for_template(tid: str, category: str, template: str, per: int, rng: random.Random, seen: set[str]) -> list[dict]:
    label = 0 if category.startswith("neg_") else 1
    rows: list[dict] = []
    for _ in range(per * 30):
        if len(rows) >= per:
            break
        text = noisify(expand(template, rng), label, rng)
        if text in seen:
            continue
        seen.add(text)
        rows.append({"id": f"pp-{tid}-{len(rows):03d}", "text": text, "label": label,
                     "category": category, "template_id": tid})
    return rows


def generate(seed: int = SEED, per_template: int = PER_TEMPLATE) -> dict[str, list[dict]]:
    """Build {"train": rows, "dev": rows}; deterministic for a given seed and size."""
    rng = random.Random(seed)
    splits = template_splits()
    out: dict[str, list[dict]] = {"train": [], "dev": []}
    seen: set[str] = set()
    for tid, category, template in TEMPLATES:
        out[splits[tid]].extend(_rows_for_template(tid, category, template, per_template, rng, seen))
    for name in ("train", "dev"):
        random.Random(f"{seed}-{name}").shuffle(out[name])
    return out


def write_jsonl(rows: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Generate the synthetic paid_posting train/dev set.")
    ap.add_argument("--out", type=Path, default=Path("data/paid_posting"))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--per-template", type=int, default=PER_TEMPLATE)
    args = ap.parse_args(argv)
    data = generate(args.seed, args.per_template)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        write_jsonl(rows, args.out / f"{name}.jsonl")
        pos = sum(r["label"] for r in rows)
        n_t = len({r["template_id"] for r in rows})
        print(f"{name}: {len(rows)} rows ({pos} positive, {len(rows) - pos} negative) from {n_t} templates")


if __name__ == "__main__":
    main()
